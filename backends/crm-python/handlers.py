"""The customer API, in the style of Django REST Framework.

- TokenAuthentication: `Authorization: Token <key>`; 401 {"detail": ...} + `WWW-Authenticate: Token`.
- PageNumberPagination: ?page=N (or "last") & ?page_size=1..100 -> {count, next, previous, results},
  next/previous absolute URLs built like DRF's replace_query_param/remove_query_param.
- URLs end in a slash, like DRF routers; without it the path is simply not found (404).
"""
import hmac
import math
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlencode, urlsplit, urlunsplit

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
LIST_PATH = "/api/customers/"
DETAIL_RE = re.compile(r"^/api/customers/([^/]+)/$")
HOST_RE = re.compile(r"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$")
INT_RE = re.compile(r"^([+-]?)([0-9]+)$")
ALLOW = "GET, HEAD, OPTIONS"


@dataclass
class Reply:
    status: int
    body: object
    headers: dict = field(default_factory=dict)


def detail(status, message, **headers):
    return Reply(status, {"detail": message}, headers)


def service_unavailable():
    """DRF's ServiceUnavailable, used by the "error" fault."""
    return detail(503, "Service temporarily unavailable, try again later.")


def not_found():
    return detail(404, "Not found.")


class CustomerApi:
    def __init__(self, store, token, fallback_host):
        self.store = store
        self.token = token
        self.fallback_host = fallback_host

    def handle(self, method, target, headers):
        """Serve one request to a non-admin path. `target` is the raw request target."""
        parts = urlsplit(target)
        path = unquote(parts.path)
        match = DETAIL_RE.match(path)
        if path != LIST_PATH and not match:
            return not_found()  # like an unmatched Django URL: before authentication

        reply = self._authenticate(headers.get("Authorization"))
        if reply is None:
            if method == "OPTIONS":
                name = "Customer List" if path == LIST_PATH else "Customer Instance"
                reply = Reply(200, {"name": name, "description": "", "renders": ["application/json"],
                                    "parses": ["application/json"]})
            elif method not in ("GET", "HEAD"):
                reply = detail(405, f'Method "{method}" not allowed.')
            elif match:
                reply = self._detail(match.group(1))
            else:
                reply = self._list(parts, headers.get("Host"))
        reply.headers.setdefault("Allow", ALLOW)
        reply.headers.setdefault("Vary", "Accept")
        return reply

    # --- authentication (rest_framework.authentication.TokenAuthentication) ----------------
    def _authenticate(self, header):
        parts = (header or "").split()
        if not parts or parts[0].lower() != "token":
            message = "Authentication credentials were not provided."
        elif len(parts) == 1:
            message = "Invalid token header. No credentials provided."
        elif len(parts) > 2:
            message = "Invalid token header. Token string should not contain spaces."
        elif not hmac.compare_digest(parts[1].encode(), self.token.encode()):
            message = "Invalid token."
        else:
            return None
        return detail(401, message, **{"WWW-Authenticate": "Token"})

    # --- views -----------------------------------------------------------------------------
    def _detail(self, raw_id):
        customer = self.store.get(_pk(raw_id))
        return Reply(200, customer) if customer else not_found()

    def _list(self, parts, host):
        params = parse_qs(parts.query, keep_blank_values=True)
        errors = {}
        page = _param(params, "page")
        if page is None:
            page = 1
        elif page != "last":
            page = _int_field(page, "page", 1, None, errors)
        size = _param(params, "page_size")
        size = DEFAULT_PAGE_SIZE if size is None else _int_field(size, "page_size", 1, MAX_PAGE_SIZE, errors)
        if errors:
            return Reply(400, errors)

        rows = self._filter(params)
        pages = max(1, math.ceil(len(rows) / size))  # an empty first page is still a page
        if page == "last":
            page = pages
        if page > pages:
            return detail(404, "Invalid page.")

        url = urlunsplit(("http", self._host(host), parts.path, parts.query, ""))
        nxt = _replace_query_param(url, "page", page + 1) if page < pages else None
        if page == 1:
            prev = None
        elif page == 2:
            prev = _remove_query_param(url, "page")
        else:
            prev = _replace_query_param(url, "page", page - 1)
        start = (page - 1) * size
        return Reply(200, {"count": len(rows), "next": nxt, "previous": prev,
                           "results": list(rows[start:start + size])})

    def _filter(self, params):
        email = _param(params, "email")
        return self.store.find_by_email(email) if email else self.store.all()

    def _host(self, host):
        return host if host and HOST_RE.match(host) else self.fallback_host

    # --- the "garbage" fault -----------------------------------------------------------------
    def garbage(self, target):
        """A 200 reply shaped like this path's success, but with wrongly typed fields.
        Served whatever the auth header or parameters; never an empty result."""
        parts = urlsplit(target)
        match = DETAIL_RE.match(unquote(parts.path))
        all_rows = self.store.all()
        fallback = all_rows[0] if all_rows else {"id": 1}
        if match:
            customer = self.store.get(_pk(match.group(1)))
            return Reply(200, _corrupt(customer or fallback))
        params = parse_qs(parts.query, keep_blank_values=True)
        size = _param(params, "page_size")
        size = _pk(size or "")
        size = size if size and size <= MAX_PAGE_SIZE else DEFAULT_PAGE_SIZE
        rows = list(self._filter(params)[:size]) or [fallback]
        return Reply(200, {"count": len(rows), "next": None, "previous": None,
                           "results": [_corrupt(c) for c in rows]})


def _corrupt(customer):
    return dict(customer, email=12345, created_at="not a date")


def _pk(raw):
    """Like Django's <int:pk> converter: plain ASCII digits, else None."""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else None


def _param(params, name):
    """Like QueryDict.get: the last value given, or None."""
    values = params.get(name)
    return values[-1] if values else None


def _int_field(raw, name, lo, hi, errors):
    """Validate like a DRF IntegerField(min_value=lo, max_value=hi); returns an int or None."""
    m = INT_RE.match(raw)
    if not m:
        errors[name] = ["A valid integer is required."]
        return None
    sign, digits = m.groups()
    value = int(digits) if len(digits) <= 18 else 10 ** 18  # no need to parse absurd numbers
    value = -value if sign == "-" else value
    if value < lo:
        errors[name] = [f"Ensure this value is greater than or equal to {lo}."]
    elif hi is not None and value > hi:
        errors[name] = [f"Ensure this value is less than or equal to {hi}."]
    return value


def _replace_query_param(url, key, val):
    """rest_framework.utils.urls.replace_query_param."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    query_dict = parse_qs(query, keep_blank_values=True)
    query_dict[key] = [str(val)]
    query = urlencode(sorted(query_dict.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, query, fragment))


def _remove_query_param(url, key):
    """rest_framework.utils.urls.remove_query_param."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    query_dict = parse_qs(query, keep_blank_values=True)
    query_dict.pop(key, None)
    query = urlencode(sorted(query_dict.items()), doseq=True)
    return urlunsplit((scheme, netloc, path, query, fragment))
