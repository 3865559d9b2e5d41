"""A fast local webhook receiver for benchmarks (asyncio, HTTP/1.1 keep-alive), run as its own process so it
does not share a GIL with what is measured. It answers 200 "ok" to every POST and remembers when each
webhook-id arrived; a POST to a path under /hang is never answered (a subscriber that hangs until the sender's
timeout). GET /stats returns the record as JSON and GET /reset clears it."""

import asyncio
import json
import sys
import time

arrivals: dict[str, float] = {}
count = 0


def _answer(status: str, body: bytes) -> bytes:
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() \
        + body


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    global count
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            now = time.time()
            lines = head.decode("latin-1").split("\r\n")
            method, path = lines[0].split(" ")[:2]
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if length:
                await reader.readexactly(length)
            if method == "POST" and path.startswith("/hang"):
                await asyncio.sleep(3600)
            if method == "POST":
                count += 1
                msg_id = headers.get("webhook-id")
                if msg_id and msg_id not in arrivals:
                    arrivals[msg_id] = now
                writer.write(_answer("200 OK", b"ok"))
            elif path.startswith("/stats"):
                writer.write(_answer("200 OK", json.dumps({"count": count, "arrivals": arrivals}).encode()))
            elif path.startswith("/reset"):
                arrivals.clear()
                count = 0
                writer.write(_answer("200 OK", b"{}"))
            else:
                writer.write(_answer("404 Not Found", b"{}"))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=512)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 0))
