"""A real HTTP receiver on 127.0.0.1 for tests: records every request (raw body bytes included) and answers
from a script of behaviours (status codes, slow answers, huge bodies, redirects, dropped connections)."""

import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    method: str
    path: str
    headers: dict
    body: bytes
    at: float  # time.time() when the request was read

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection without answering
    hang: threading.Event | None = None  # wait for this event (or 30 s) before answering


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that closed its connection with our answer unread (a sender capping what it reads resets it)
        is no error of the receiver's; anything else is printed as usual."""
        if not isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            super().handle_error(request, client_address)


class Receiver:
    """Start with `with Receiver() as receiver:`; `receiver.url` is its address. Script answers with
    `receiver.answer(...)` (used in order, the last one repeats) or `receiver.always(...)`, or per path with
    `receiver.route(...)`."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.requests: list[Received] = []
        self._script: list[Answer] = []
        self._default = Answer()
        self._routes: dict[str, Answer] = {}
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = receiver._record(Received(self.command, self.path, dict(self.headers.items()), body,
                                                   time.time()))
                if answer.hang is not None:
                    answer.hang.wait(30)
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                try:
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_POST = do_GET = do_PUT = _handle

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls is not None:  # HTTPS: each connection's handshake happens as it is accepted
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}/hook"
        # A short poll interval: shutdown() returns within 20 ms instead of 500 ms, so each test ends sooner.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    def _record(self, received: Received) -> Answer:
        with self._arrived:
            self.requests.append(received)
            routed = next((a for prefix, a in self._routes.items() if received.path.startswith(prefix)), None)
            answer = routed or (self._script.pop(0) if self._script else self._default)
            self._arrived.notify_all()
            return answer

    def answer(self, *answers: Answer) -> "Receiver":
        with self._lock:
            self._script.extend(answers)
        return self

    def route(self, path_prefix: str, answer: Answer) -> "Receiver":
        """Answer every request whose path starts with `path_prefix` this way (before any script)."""
        with self._lock:
            self._routes[path_prefix] = answer
        return self

    def always(self, answer: Answer) -> "Receiver":
        with self._lock:
            self._default = answer
        return self

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until `count` requests arrived (or fail after `timeout` seconds)."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} request(s), got {len(self.requests)} in {timeout} s")
                self._arrived.wait(left)
            return list(self.requests)

    def __enter__(self) -> "Receiver":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
