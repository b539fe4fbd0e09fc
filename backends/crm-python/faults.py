"""Shared, thread-safe admin state: the fault in force, request counters, recent requests."""
import json
import math
import threading
from collections import deque
from datetime import datetime, timezone

MODES = ("ok", "down", "latency", "error", "garbage", "hang")
DEFAULT_LATENCY_MS = 1000
DEFAULT_ERROR_RATE = 1.0
MAX_LATENCY_MS = 86_400_000  # one day; anything longer is what "hang" is for
RECENT_LIMIT = 100


def now_iso():
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class State:
    def __init__(self):
        self._lock = threading.Lock()
        self._fault = {"mode": "ok", "latencyMs": DEFAULT_LATENCY_MS, "errorRate": DEFAULT_ERROR_RATE}
        self._recent = deque(maxlen=RECENT_LIMIT)
        self._reset_counters()

    def _reset_counters(self):
        self._requests = 0
        self._by_status = {}
        self._dropped = 0
        self._hung = 0
        self._since = now_iso()

    # --- faults ---------------------------------------------------------------------------
    def fault(self):
        """The fault in force, with only the parameters its mode uses."""
        with self._lock:
            f = dict(self._fault)
        view = {"mode": f["mode"]}
        if f["mode"] == "latency":
            view["latencyMs"] = f["latencyMs"]
        elif f["mode"] == "error":
            view["errorRate"] = f["errorRate"]
        return view

    def settings(self):
        """The full fault settings, for the request path."""
        with self._lock:
            return dict(self._fault)

    def set_fault(self, fault):
        with self._lock:
            self._fault = dict(fault)
        return self.fault()

    # --- counters and the request log -----------------------------------------------------
    def count_request(self):
        with self._lock:
            self._requests += 1

    def record(self, method, path, status, traceparent, outcome=None):
        """Remember a finished (or dropped/hung: status None, outcome 'dropped'/'hung') request."""
        with self._lock:
            if outcome == "dropped":
                self._dropped += 1
            elif outcome == "hung":
                self._hung += 1
            elif status is not None:
                key = str(status)
                self._by_status[key] = self._by_status.get(key, 0) + 1
            self._recent.append({"method": method, "path": path, "status": status,
                                 "traceparent": traceparent})

    def stats(self):
        with self._lock:
            return {"requests": self._requests, "byStatus": dict(self._by_status),
                    "dropped": self._dropped, "hung": self._hung, "since": self._since}

    def reset_stats(self):
        with self._lock:
            self._reset_counters()
        return self.stats()

    def recent(self):
        with self._lock:
            return list(self._recent)


STATE = State()


def parse_fault(body):
    """Parse a POST /_admin/faults body. Returns (fault, None) or (None, DRF-style error body)."""
    try:
        data = json.loads(body.decode("utf-8") if body else "")
    except (UnicodeDecodeError, ValueError) as e:
        return None, {"detail": f"JSON parse error - {e}"}
    if not isinstance(data, dict):
        kind = {list: "list", str: "str", int: "int", float: "float", bool: "bool"}.get(type(data), "null")
        return None, {"non_field_errors": [f"Invalid data. Expected a dictionary, but got {kind}."]}

    errors = {}
    mode = data.get("mode")
    if mode is None:
        errors["mode"] = ["This field is required."]
    elif not isinstance(mode, str) or mode not in MODES:
        errors["mode"] = [f'"{mode}" is not a valid choice.']
    latency = _number(data, "latencyMs", DEFAULT_LATENCY_MS, 0, MAX_LATENCY_MS, errors)
    rate = _number(data, "errorRate", DEFAULT_ERROR_RATE, 0, 1, errors)
    if errors:
        return None, errors
    return {"mode": mode, "latencyMs": latency, "errorRate": rate}, None


def _number(data, key, default, lo, hi, errors):
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        errors[key] = ["A valid number is required."]
    elif value < lo:
        errors[key] = [f"Ensure this value is greater than or equal to {lo}."]
    elif value > hi:
        errors[key] = [f"Ensure this value is less than or equal to {hi}."]
    return value
