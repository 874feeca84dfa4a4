"""Similar-item search: exact cosine top-K with category filters, and its quality metrics."""

from outfitter.search.exact import ExactIndex, topk_rows
from outfitter.search.metrics import category_precision_at_k

__all__ = ["ExactIndex", "category_precision_at_k", "topk_rows"]
