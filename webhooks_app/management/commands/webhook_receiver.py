"""`python manage.py webhook_receiver [--port N] [--secret S] [--status CODE]`: a local subscriber for trying
MediaHooks out. It serves on 127.0.0.1, prints each incoming webhook and checks its signatures (Standard Webhooks,
X-Signature, and X-Signature-Next while a rotated secret overlaps the new one)."""

import json
import threading
import time
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

from django.core.management.base import BaseCommand, CommandError

from webhooks_app.signing import SignatureError, parse_timestamp, plain_signature, same, standard_signature

TOLERANCE = 300


def check_standard(secret: str, headers, body: bytes) -> str:
    msg_id, stamp, signatures = (headers.get("webhook-id"), headers.get("webhook-timestamp"),
                                 headers.get("webhook-signature"))
    if not (msg_id and stamp and signatures):
        return "missing headers"
    try:
        when = parse_timestamp(stamp)
    except SignatureError as exc:
        return f"unreadable ({exc})"
    age = abs(time.time() - when)
    expected = standard_signature(secret, msg_id, when, body)
    if not any(same(candidate, expected) for candidate in signatures.split()):
        return "INVALID"
    return "valid" if age <= TOLERANCE else f"valid but {age:.0f} s old"


def check_plain(secret: str, headers, body: bytes, name: str = "X-Signature") -> str:
    """The verdict on one hex HMAC header (X-Signature, or X-Signature-Next during a rotation)."""
    signature = headers.get(name)
    if not signature:
        return "missing header"
    return "valid" if same(signature.lower(), plain_signature(secret, body)) else "INVALID"


def plain_verdicts(secret: str, headers, body: bytes) -> list[tuple[str, str]]:
    """X-Signature's verdict, and X-Signature-Next's when it is there: during the 24 h after a rotation,
    X-Signature is still made with the previous secret and X-Signature-Next with the new one."""
    current = check_plain(secret, headers, body)
    if not headers.get("X-Signature-Next"):
        return [("X-Signature", current)]
    following = check_plain(secret, headers, body, "X-Signature-Next")
    if following == "valid" and current != "valid":
        current = "INVALID for this secret (rotation overlap: it is made with the previous secret)"
    elif current == "valid" and following != "valid":
        following = "INVALID for this secret (rotation overlap: it is made with the new secret)"
    return [("X-Signature", current), ("X-Signature-Next", following)]


def describe_body(content_type: str, body: bytes) -> str:
    """JSON pretty-printed; form posts (the player's client-side webhooks) as one `name = value` per field."""
    if content_type.startswith("multipart/form-data"):
        message = BytesParser(policy=policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body)
        if message.is_multipart():
            return "\n".join(f"  {part.get_param('name', header='content-disposition')} = "
                             f"{part.get_content().strip() if part.get_content_maintype() == 'text' else '(file)'}"
                             for part in message.iter_parts())
    if content_type.startswith("application/x-www-form-urlencoded"):
        return "\n".join(f"  {name} = {value}" for name, value in parse_qsl(body.decode("utf-8", "replace")))
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body.decode("utf-8", errors="replace")[:2000]


class Command(BaseCommand):
    help = "Receives webhooks on 127.0.0.1 and prints them, with the Standard Webhooks and X-Signature checks."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=9000, help="Port on 127.0.0.1 (default 9000).")
        parser.add_argument("--secret", default="", help="The webhook's secret, to check the signatures.")
        parser.add_argument("--status", type=int, default=200,
                            help="HTTP status to answer with (e.g. 500 to watch retries; default 200).")

    def handle(self, *args, port: int, secret: str, status: int, **options):
        if not 100 <= status <= 599:
            raise CommandError("--status must be an HTTP status code (100–599).")
        if not 0 <= port <= 65535:
            raise CommandError("--port must be a port number (0–65535; 0 picks a free one).")
        style = self.style
        printing = threading.Lock()

        def report(lines: list[str]) -> None:
            """Print one request's lines together (requests arrive on several threads), and at once when piped."""
            with printing:
                for line in lines:
                    self.stdout.write(line)
                self.stdout.flush()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                lines = [style.MIGRATE_HEADING(f"\n{time.strftime('%H:%M:%S')}  POST {self.path}  ({len(body)} bytes)")]
                for name in ("webhook-id", "webhook-timestamp", "webhook-signature", "X-Signature",
                             "X-Signature-Next", "User-Agent"):
                    if self.headers.get(name):
                        lines.append(f"  {name}: {self.headers.get(name)}")
                if secret:
                    checks = [("Standard Webhooks signature", check_standard(secret, self.headers, body)),
                              *plain_verdicts(secret, self.headers, body)]
                    for label, verdict in checks:
                        painted = style.SUCCESS(verdict) if verdict.startswith("valid") else style.ERROR(verdict)
                        lines.append(f"  {label}: {painted}")
                else:
                    lines.append("  (no --secret given: signatures not checked)")
                lines.append(describe_body(self.headers.get("Content-Type", ""), body))
                answer = json.dumps({"received": True}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                lines.append(f"  → answered {status}")
                report(lines)

        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise CommandError(f"Cannot listen on 127.0.0.1:{port}: {exc}") from None
        report([f"Listening on http://127.0.0.1:{server.server_address[1]}/ — point a webhook there. Ctrl-C stops."])
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("\nStopped.")
        finally:
            server.server_close()
