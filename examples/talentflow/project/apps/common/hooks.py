"""Named checkpoints inside critical sections.

Code that takes locks or runs in several steps calls ``checkpoint(name)``
between the steps. Tracing, fault injection and the concurrency tests attach
listeners to force a precise interleaving of two requests; without listeners a
checkpoint costs one dict lookup.
"""
from collections import defaultdict
from contextlib import contextmanager
import threading

_lock = threading.Lock()
_listeners = defaultdict(list)


def checkpoint(name, **context):
    """Call every listener registered for ``name`` with ``context``."""
    listeners = _listeners.get(name)
    if not listeners:
        return
    for listener in list(listeners):
        listener(**context)


@contextmanager
def listening(name, listener):
    """Register ``listener`` for checkpoint ``name`` for the duration of the block."""
    with _lock:
        _listeners[name].append(listener)
    try:
        yield listener
    finally:
        with _lock:
            _listeners[name].remove(listener)
            if not _listeners[name]:
                del _listeners[name]
