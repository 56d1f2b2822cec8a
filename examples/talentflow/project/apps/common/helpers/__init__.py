"""Small helpers used across the apps."""
from .iterables import chunked, unique_by
from .text import normalize_email, normalize_phone, slugify_name, split_full_name

__all__ = [
    "chunked",
    "normalize_email",
    "normalize_phone",
    "slugify_name",
    "split_full_name",
    "unique_by",
]
