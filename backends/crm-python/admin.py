"""/health and the common /_admin/* endpoints: no auth, never affected by faults."""
from faults import STATE, parse_fault
from handlers import Reply, detail, not_found


def health(method):
    if method not in ("GET", "HEAD"):
        return detail(405, f'Method "{method}" not allowed.', Allow="GET, HEAD")
    return Reply(200, {"status": "ok"})


def _get_faults(body):
    return Reply(200, STATE.fault())


def _set_faults(body):
    fault, errors = parse_fault(body)
    if errors:
        return Reply(400, errors)
    return Reply(200, STATE.set_fault(fault))


ROUTES = {
    "/_admin/faults": {"GET": _get_faults, "POST": _set_faults},
    "/_admin/stats": {"GET": lambda body: Reply(200, STATE.stats())},
    "/_admin/stats/reset": {"POST": lambda body: Reply(200, STATE.reset_stats())},
    "/_admin/requests": {"GET": lambda body: Reply(200, STATE.recent())},
}


def handle(method, path, body):
    """`path` is the decoded path without the query string; a trailing slash is tolerated."""
    methods = ROUTES.get(path.rstrip("/"))
    if methods is None:
        return not_found()
    if method == "HEAD" and "GET" in methods:
        method = "GET"
    view = methods.get(method)
    if view is None:
        allow = ", ".join(sorted(methods))
        return detail(405, f'Method "{method}" not allowed.', Allow=allow)
    return view(body)
