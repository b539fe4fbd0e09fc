#!/usr/bin/env python3
"""Omnigate sample CRM backend: Django-REST-Framework-style REST, Python standard library only.

Run from the repo root:  python3 backends/crm-python/server.py
Environment: CRM_PORT (8082), CRM_API_TOKEN (crm-dev-token), OMNIGATE_SEED_DIR (./.data/seed).
"""
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
import admin  # noqa: E402  (the sibling modules, imported after that switch)
from faults import STATE, now_iso  # noqa: E402
from handlers import CustomerApi, Reply, detail, service_unavailable  # noqa: E402
from store import CustomerStore, SeedError  # noqa: E402

HOST = os.environ.get("BIND_HOST") or "127.0.0.1"
MAX_BODY = 1 << 20
_log_lock = threading.Lock()
_stopping = threading.Event()


def log_line(method, path, status, traceparent):
    """One JSON line per request on stdout, flushed at once."""
    line = json.dumps({"ts": now_iso(), "method": method, "path": path, "status": status,
                       "traceparent": traceparent}, ensure_ascii=False)
    with _log_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class CrmHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like a real server behind a connection pool
    server_version = "crm-python/1.0"
    timeout = 120  # idle keep-alive connections are closed after this many seconds
    # Nagle would hold a reply's last small segment until the client ACKs the one before, and
    # clients delay that ACK by ~40 ms: every keep-alive reply after the first would wait.
    disable_nagle_algorithm = True
    api = None  # a CustomerApi, set by main()

    def do_GET(self):
        self._status = None
        self._traceparent = self.headers.get("traceparent")
        try:
            self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left before the reply was written
        except Exception:
            traceback.print_exc(file=sys.stderr)
            if self._status is None:  # nothing sent yet
                self.close_connection = True
                self._send(detail(500, "A server error occurred."))
                log_line(self.command, self.path, 500, self._traceparent)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _dispatch(self):
        method, target = self.command, self.path
        path = unquote(urlsplit(target).path)
        body = self._read_body()
        if body is None:
            return  # an error reply was sent

        if path == "/health" or path == "/_admin" or path.startswith("/_admin/"):
            reply = admin.health(method) if path == "/health" else admin.handle(method, path, body)
            self._send(reply)
            log_line(method, target, reply.status, self._traceparent)
            return

        STATE.count_request()
        fault = STATE.settings()
        mode = fault["mode"]
        if mode in ("down", "hang"):
            outcome = "dropped" if mode == "down" else "hung"
            STATE.record(method, target, None, self._traceparent, outcome)
            log_line(method, target, None, self._traceparent)
            if mode == "down":
                self._drop()
            else:
                self._hang()
            return

        if mode == "latency":
            time.sleep(fault["latencyMs"] / 1000)
        if mode == "error" and random.random() < fault["errorRate"]:
            reply = service_unavailable()
        elif mode == "garbage":
            reply = self.api.garbage(target)
        else:
            reply = self.api.handle(method, target, self.headers)
        # Recorded before the reply goes out: a client that has the reply and then asks
        # /_admin/requests must find this request there (another thread answers that).
        STATE.record(method, target, reply.status, self._traceparent)
        try:
            self._send(reply)
        finally:
            log_line(method, target, reply.status, self._traceparent)

    # --- request bodies -------------------------------------------------------------------
    def _read_body(self):
        """The request body as bytes (read fully, so keep-alive stays in sync), or None after
        replying with an error."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            try:
                return self._read_chunked()
            except ValueError:
                return self._reject(400, "Malformed chunked request body.")
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b""
        if not raw.strip().isdigit():
            return self._reject(400, "Malformed Content-Length header.")
        length = int(raw)
        if length > MAX_BODY:
            return self._reject(413, "Request body too large.")
        return self.rfile.read(length)

    def _read_chunked(self):
        data = b""
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)  # ValueError if bad
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return data
            data += self.rfile.read(size)
            self.rfile.readline(1024)
            if len(data) > MAX_BODY:
                raise ValueError("too large")

    def _reject(self, status, message):
        self.close_connection = True
        self._send(detail(status, message))
        log_line(self.command, self.path, status, self._traceparent)
        return None

    # --- replies ----------------------------------------------------------------------------
    def _send(self, reply: Reply):
        payload = json.dumps(reply.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._status = reply.status
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        # What end_headers() does, with the body in the same write: one segment per reply.
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(payload)
        self.flush_headers()

    def _drop(self):
        """Fault "down": destroy the connection without a single byte of reply."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _hang(self):
        """Fault "hang": never reply; hold this thread until the client closes the socket."""
        self.close_connection = True
        sock = self.connection
        while not _stopping.is_set():
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                try:
                    if not sock.recv(65536):
                        return  # the client went away
                except OSError:
                    return

    def send_error(self, code, message=None, explain=None):
        """Errors raised by http.server itself (bad request line, 414, 431, ...), as JSON."""
        self.close_connection = True
        self._traceparent = getattr(self, "_traceparent", None)
        text = message or self.responses.get(code, ("Error",))[0]
        self._send(detail(code, text))
        log_line(self.command or None, getattr(self, "path", None), code, self._traceparent)

    def log_request(self, code="-", size="-"):
        pass  # our own JSON line replaces the default access log

    def log_message(self, format, *args):
        sys.stderr.write("crm: " + (format % args) + "\n")


def main():
    try:
        port = int(os.environ.get("CRM_PORT", "8082"))
    except ValueError:
        sys.exit(f"crm: CRM_PORT must be a number, got {os.environ['CRM_PORT']!r}")
    token = os.environ.get("CRM_API_TOKEN") or "crm-dev-token"
    seed_dir = os.path.abspath(os.environ.get("OMNIGATE_SEED_DIR") or os.path.join(".data", "seed"))
    try:
        store = CustomerStore.load(seed_dir)
    except SeedError as e:
        sys.exit(f"crm: {e}")

    CrmHandler.api = CustomerApi(store, token, fallback_host=f"{HOST}:{port}")
    server = ThreadingHTTPServer((HOST, port), CrmHandler)
    server.daemon_threads = True  # hung or slow requests never block each other ...
    server.block_on_close = False  # ... nor shutdown (idle keep-alive threads included)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    sys.stderr.write(f"crm: {len(store)} customers from {seed_dir}; "
                     f"listening on http://{HOST}:{server.server_address[1]}\n")
    sys.stderr.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        _stopping.set()
        server.server_close()


if __name__ == "__main__":
    main()
