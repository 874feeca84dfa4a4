"""Similar-item search: exact and FAISS cosine top-K with category filters, query expansion, and quality metrics."""

from outfitter.search.base import Hits, Index
from outfitter.search.exact import ExactIndex, topk_rows
from outfitter.search.expansion import ExpandedIndex
from outfitter.search.faiss_index import FaissIndex
from outfitter.search.metrics import category_precision_at_k
from outfitter.search.select import build_index, open_index

__all__ = ["ExactIndex", "ExpandedIndex", "FaissIndex", "Hits", "Index", "build_index", "category_precision_at_k", "open_index", "topk_rows"]
