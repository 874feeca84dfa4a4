"""Similar-item search: exact cosine top-K with category filters, and its quality metrics."""

from outfitter.search.base import Hits, Index
from outfitter.search.exact import ExactIndex, topk_rows
from outfitter.search.faiss_index import FaissIndex
from outfitter.search.metrics import category_precision_at_k
from outfitter.search.select import build_index, open_index

__all__ = ["ExactIndex", "FaissIndex", "Hits", "Index", "build_index", "category_precision_at_k", "open_index", "topk_rows"]
