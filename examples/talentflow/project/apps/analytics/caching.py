"""Query-result cache for analytics, in its own Redis database.

One process-wide connection pool (bounded by ``ANALYTICS_CACHE["MAX_CONNECTIONS"]``);
a cached query checks out one connection for its GET and SET and always gives
it back.
"""
import json
import threading

import redis
from django.conf import settings

_lock = threading.Lock()
_pool = None
_pool_url = None
_pools = []


def get_pool():
    """The shared pool (re-created if the configured URL changed)."""
    global _pool, _pool_url
    conf = settings.ANALYTICS_CACHE
    with _lock:
        if _pool is None or _pool_url != conf["URL"]:
            _pool = redis.ConnectionPool.from_url(
                conf["URL"],
                max_connections=conf["MAX_CONNECTIONS"],
                client_name=conf["CLIENT_NAME"],
                socket_timeout=5,
            )
            _pools.append(_pool)
        return _pool


def close_pool():
    global _pool, _pool_url
    with _lock:
        for pool in _pools:
            pool.disconnect()
        _pools.clear()
        _pool = None
        _pool_url = None


def _key(name):
    return f"analytics:{name}"


def cached_query(name, compute, ttl=None):
    """The cached value of ``name``, computing and storing it on a miss.

    ``compute`` returns something JSON-serialisable. Errors (from ``compute``
    or from Redis) propagate; the connection goes back to the pool either way.
    """
    ttl = ttl or settings.ANALYTICS_CACHE["TTL_SECONDS"]
    pool = get_pool()
    connection = pool.get_connection()
    connection.send_command("GET", _key(name))
    raw = connection.read_response()
    if raw is not None:
        pool.release(connection)
        return json.loads(raw)
    value = compute()
    connection.send_command("SET", _key(name), json.dumps(value), "EX", ttl)
    connection.read_response()
    pool.release(connection)
    return value


def invalidate(*names):
    if not names:
        return 0
    client = redis.Redis(connection_pool=get_pool())
    return client.delete(*[_key(n) for n in names])
