"""Outgoing HTTP without ambient proxies and without automatic redirects."""
from urllib.request import HTTPRedirectHandler, ProxyHandler, build_opener


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def opener(follow_redirects=False):
    """A urllib opener that ignores *_proxy variables; redirects are returned, not followed."""
    handlers = [ProxyHandler({})]
    if not follow_redirects:
        handlers.append(_NoRedirect())
    return build_opener(*handlers)
