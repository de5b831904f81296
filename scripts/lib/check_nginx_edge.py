"""Nginx's edge promises, checked against a running nginx: the repository's configuration
in a throwaway nginx in front of a stub upstream, on free ports of 127.0.0.1.

    python3 scripts/lib/check_nginx_edge.py PLAIN_DIR TLS_DIR

PLAIN_DIR and TLS_DIR are what scripts/check-configs renders for `nginx -t`: nginx.conf
with the compose includes, and the same with docker-compose.tls.yml's
listen-public.tls.conf and a throwaway certificate in tls/. Each is copied, its listen
lines and upstream pointed at free ports (as scripts/stack writes them natively), and
run. The stub upstream answers every request with 200 and what it received, so a test
tells an answer of nginx's own from one that reached a replica.

Checked, over plain HTTP (compose without TLS, and the native stack):
  - a 2 MiB body to /urls (sent whole, and chunked) is nginx's 413 with the app's JSON
    error shape naming the 1 MiB limit, and never reaches the upstream;
  - a body of exactly 1 MiB reaches it (the app's own limit is the same);
  - exactly 64 MiB to /users/bulk reaches it; a declared 64 MiB + 1 is a JSON 413
    naming 64 MiB;
  - /health, /ready and /metrics are a JSON 404 on the public server, /live is proxied;
  - the internal server proxies /health and /ready, and not /metrics;
  - no Strict-Transport-Security over plain HTTP;
  - past the per-IP limit, a JSON 429 with Retry-After and one X-Request-ID.
And with TLS: HTTPS answers (nginx's own errors included) carry HSTS, and plain HTTP is
only a 308 redirect to the same URL over HTTPS.

Prints one line per check; exits 1 if any failed.
"""

import http.client
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from app_limits import body_limit

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

MIB = 1024 * 1024
JSON_LIMIT = body_limit("JSON_BODY_LIMIT")
UPLOAD_LIMIT = body_limit("UPLOAD_BODY_LIMIT")
HSTS = "max-age=31536000; includeSubDomains"


class Stub(http.server.ThreadingHTTPServer):
    """The upstream: 200 with the method, path and body length it received, for any
    request; counts the requests."""

    daemon_threads = True

    def __init__(self):
        self.seen = []
        super().__init__(("127.0.0.1", 0), StubHandler)


class StubHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def drain(self, size):
        """Reads and drops SIZE bytes; how many there were."""
        read = 0
        while read < size and (block := self.rfile.read(min(size - read, MIB))):
            read += len(block)
        return read

    def body_length(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            total = 0
            while size := int(self.rfile.readline().split(b";")[0], 16):
                total += self.drain(size)
                self.rfile.readline()
            # The empty line after the last chunk (nginx sends no trailers).
            self.rfile.readline()
            return total
        return self.drain(int(self.headers.get("Content-Length") or 0))

    def handle_any(self):
        received = {"upstream": True, "method": self.command, "path": self.path,
                    "body_bytes": self.body_length()}
        self.server.seen.append(received)
        if self.path.endswith("?stub=hang-up"):
            # A replica that dies mid-request: nginx's own 502 follows.
            self.close_connection = True
            return
        body = json.dumps(received).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nginx:
    """The configuration in SOURCE copied to a temporary prefix, with `listen` lines and
    the upstream rewritten by `adapt`, run in the foreground until stopped."""

    def __init__(self, source, stub_port, adapt):
        self.dir = tempfile.mkdtemp(prefix="nginx-edge-")
        # Workers run as nobody when this runs as root: they must reach client_body_temp.
        os.chmod(self.dir, 0o755)
        shutil.copytree(source, self.dir, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*_temp", "*.pid"))
        with open(os.path.join(self.dir, "upstream.conf"), "w") as f:
            f.write(f"upstream shortener_app {{\n    server 127.0.0.1:{stub_port};\n    keepalive 4;\n}}\n")
        self.public, self.internal = free_port(), free_port()
        adapt(self)
        self.log = open(os.path.join(self.dir, "nginx.stderr"), "w+")
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.dir + "/", "-c", "nginx.conf",
             "-g", f"daemon off; pid {self.dir}/nginx.pid;"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.internal), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        self.log.seek(0)
        raise RuntimeError(f"nginx did not start:\n{self.log.read()}")

    def write(self, name, text):
        with open(os.path.join(self.dir, name), "w") as f:
            f.write(text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Answer:
    def __init__(self, response, body):
        self.status = response.status
        self.headers = response.headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return f"{self.status} {self.headers.get('Content-Type')} {self.body[:200]!r}"


def request(port, method, path, body=None, headers=None, tls=False):
    if tls:
        context = ssl.create_default_context()
        # The throwaway certificate is self-signed: what is checked is nginx's answer.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = headers or {}
        # A generator is sent chunked unless its length is declared.
        chunked = body is not None and not isinstance(body, (bytes, str)) and "Content-Length" not in headers
        conn.request(method, path, body=body, headers=headers, encode_chunked=chunked)
        response = conn.getresponse()
        return Answer(response, response.read())
    finally:
        conn.close()


def declared_only(port, path, length):
    """A POST that declares LENGTH bytes and sends none: nginx judges Content-Length before
    reading the body, so a 64 MiB + 1 refusal needs no 64 MiB upload."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\n"
                  f"Content-Length: {length}\r\n\r\n".encode())
        s.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    return int(lines[0].split()[1]), headers, body


class Checks:
    def __init__(self):
        self.failed = 0

    def expect(self, ok, name, detail=""):
        print(f"{'ok   ' if ok else 'FAIL '} {name}" + ("" if ok or not detail else f"\n      {detail}"))
        self.failed += 0 if ok else 1
        return ok


def is_json_error(answer, status, words=""):
    body = answer.json()
    return (answer.status == status
            and answer.headers.get("Content-Type") == "application/json"
            and isinstance(body, dict) and set(body) == {"error"} and words in body["error"])


def chunks(total, size=64 * 1024):
    for sent in range(0, total, size):
        yield b"x" * min(size, total - sent)


def check_plain(c, stub, source):
    def adapt(n):
        n.write("listen-public.conf", f"listen 127.0.0.1:{n.public};\n")
        n.write("listen-internal.conf", f"listen 127.0.0.1:{n.internal};\n")

    nginx = Nginx(source, stub.server_port, adapt)
    try:
        port, json_type = nginx.public, {"Content-Type": "application/json"}

        def refused(name, answer, limit):
            c.expect(is_json_error(answer, 413, f"(limit {limit} bytes)")
                     and answer.headers.get("X-Request-ID") and not stub.seen,
                     name, f"{answer}; upstream saw {stub.seen}")

        refused("2 MiB to POST /urls: nginx's 413, JSON naming the 1 MiB limit, X-Request-ID, upstream untouched",
                request(port, "POST", "/urls", b"x" * (2 * MIB), json_type), JSON_LIMIT)
        refused("2 MiB chunked (no Content-Length) to POST /urls: the same 413",
                request(port, "POST", "/urls", chunks(2 * MIB), json_type), JSON_LIMIT)
        status, headers, body = declared_only(port, "/users/bulk", UPLOAD_LIMIT + 1)
        c.expect(status == 413 and headers.get("Content-Type") == "application/json"
                 and json.loads(body or b"null") == {"error": f"request body is too large (limit {UPLOAD_LIMIT} bytes)"}
                 and not stub.seen,
                 "64 MiB + 1 declared to POST /users/bulk: 413, JSON naming the 64 MiB limit",
                 f"{status} {headers} {body!r}")

        exact = request(port, "POST", "/urls", b"x" * JSON_LIMIT, json_type)
        c.expect(exact.status == 200 and (exact.json() or {}).get("body_bytes") == JSON_LIMIT,
                 "exactly 1 MiB to POST /urls reaches the upstream (the app's limit is the same)", repr(exact))
        bulk = request(port, "POST", "/users/bulk", chunks(UPLOAD_LIMIT),
                       {"Content-Type": "text/csv", "Content-Length": str(UPLOAD_LIMIT)})
        c.expect(bulk.status == 200 and (bulk.json() or {}).get("body_bytes") == UPLOAD_LIMIT,
                 "exactly 64 MiB (2 MiB and everything up to it) to POST /users/bulk reaches the upstream whole",
                 repr(bulk))

        # Its error page is looked up as a location of its own: there, a size check
        # against the upload would turn nginx's JSON 502 into an HTML 413.
        failed = request(port, "POST", "/users/bulk?stub=hang-up", b"x" * (2 * MIB), {"Content-Type": "text/csv"})
        c.expect(is_json_error(failed, 502, "no replica answered"),
                 "2 MiB to POST /users/bulk when the replica hangs up: nginx's JSON 502", repr(failed))

        stub.seen.clear()
        for path in ("/health", "/ready", "/metrics"):
            answer = request(port, "GET", path)
            c.expect(is_json_error(answer, 404) and not stub.seen,
                     f"GET {path} on the public server: JSON 404, upstream untouched", f"{answer}; {stub.seen}")
            stub.seen.clear()
        live = request(port, "GET", "/live")
        c.expect(live.status == 200 and (live.json() or {}).get("path") == "/live",
                 "GET /live on the public server reaches the upstream", repr(live))
        c.expect(all("Strict-Transport-Security" not in a.headers for a in (live, exact)),
                 "no Strict-Transport-Security over plain HTTP", f"{live.headers}")

        for path in ("/health", "/ready"):
            answer = request(nginx.internal, "GET", path)
            c.expect(answer.status == 200 and (answer.json() or {}).get("path") == path,
                     f"GET {path} on the internal server reaches the upstream", repr(answer))
        stub.seen.clear()
        metrics = request(nginx.internal, "GET", "/metrics")
        c.expect(metrics.status == 404 and not stub.seen,
                 "GET /metrics on the internal server: 404, not proxied", repr(metrics))
    finally:
        nginx.stop()


def check_rate_limit(c, stub, source):
    """nginx's 429, with the limit rendered at 1 request a second and a burst of one (as the
    templates are, from NGINX_RATE_LIMIT=1 and NGINX_RATE_BURST=1)."""
    def adapt(n):
        n.write("listen-public.conf", f"listen 127.0.0.1:{n.public};\n")
        n.write("listen-internal.conf", f"listen 127.0.0.1:{n.internal};\n")
        for part in ("rate-limit-zone", "rate-limit"):
            with open(os.path.join(ROOT, "nginx", f"{part}.conf.template")) as f:
                text = f.read().replace("${NGINX_RATE_LIMIT}", "1").replace("${NGINX_RATE_BURST}", "1")
            n.write(f"{part}.conf", text)

    nginx = Nginx(source, stub.server_port, adapt)
    try:
        answers = [request(nginx.public, "GET", "/live") for _ in range(4)]
        limited = [a for a in answers if a.status == 429]
        c.expect(limited and all(is_json_error(a, 429) and a.headers.get("Retry-After") == "1"
                                 and len(a.headers.get_all("X-Request-ID") or []) == 1 for a in limited),
                 "past the per-IP limit: nginx's JSON 429 with Retry-After and one X-Request-ID",
                 f"{answers} {[a.headers for a in limited]}")
    finally:
        nginx.stop()


def check_tls(c, stub, source):
    def adapt(n):
        n.https = free_port()
        text = open(os.path.join(n.dir, "listen-public.conf")).read()
        text, plain = re.subn(r"^listen 80;$", f"listen 127.0.0.1:{n.public};", text, flags=re.M)
        text, secure = re.subn(r"^listen 443 ssl;$", f"listen 127.0.0.1:{n.https} ssl;", text, flags=re.M)
        if (plain, secure) != (1, 1):
            raise RuntimeError("listen-public.tls.conf: expected `listen 80;` and `listen 443 ssl;`")
        n.write("listen-public.conf", text)
        n.write("listen-internal.conf", f"listen 127.0.0.1:{n.internal};\n")

    nginx = Nginx(source, stub.server_port, adapt)
    try:
        live = request(nginx.https, "GET", "/live", tls=True)
        c.expect(live.status == 200 and live.headers.get("Strict-Transport-Security") == HSTS,
                 f"HTTPS GET /live reaches the upstream with Strict-Transport-Security: {HSTS}",
                 f"{live} {live.headers}")
        for name, answer in (
            ("413", request(nginx.https, "POST", "/urls", b"x" * (2 * MIB), {"Content-Type": "application/json"}, tls=True)),
            ("404", request(nginx.https, "GET", "/health", tls=True)),
        ):
            c.expect(answer.status == int(name) and answer.headers.get("Strict-Transport-Security") == HSTS,
                     f"HTTPS: nginx's own {name} carries HSTS too", f"{answer} {answer.headers}")
        stub.seen.clear()
        moved = request(nginx.public, "POST", "/urls?x=1", b"{}", {"Content-Type": "application/json"})
        c.expect(moved.status == 308 and moved.headers.get("Location") == "https://127.0.0.1/urls?x=1"
                 and "Strict-Transport-Security" not in moved.headers and not stub.seen,
                 "plain HTTP: only a 308 to the same URL over HTTPS, no HSTS, upstream untouched",
                 f"{moved} {moved.headers}")
    finally:
        nginx.stop()


def main():
    plain, tls = sys.argv[1:3]
    stub = Stub()
    threading.Thread(target=stub.serve_forever, daemon=True).start()
    c = Checks()
    try:
        check_plain(c, stub, plain)
        check_rate_limit(c, stub, plain)
        check_tls(c, stub, tls)
    finally:
        stub.shutdown()
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
