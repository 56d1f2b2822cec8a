"""Iteration helpers."""


def chunked(iterable, size):
    """Lists of at most ``size`` items, in order."""
    if size < 1:
        raise ValueError(f"chunk size must be at least 1, got {size}")
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def unique_by(items, key):
    """First item of each ``key(item)``, in order."""
    seen = set()
    out = []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out
