"""Benchmark 7's receivers (spawned process): N healthy webhook endpoints on 127.0.0.1.

They run in a process of their own, as real receivers would, so answering thousands of POSTs
does not compete for the GIL with the bench process that publishes the events. A minimal
asyncio HTTP/1.1 server (keep-alive, Content-Length bodies, 204 answers): the standard
library's http.server spends ~4× more CPU per request, and on a 2-CPU machine the receivers'
own cost would otherwise be a large part of what the benchmark measures. No Django import: a
spawned child imports this module before anything else.

Protocol over the pipe: the child sends its ports once; then answers "count" with the number
of receipts so far, "clear" by forgetting them, "receipts" with every ((webhook-id, path), time)
pair, and ends on "stop".
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

_ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class Receipts:
    """First receipt time of each (webhook-id, path): a retry or duplicate keeps the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.at: dict[tuple[str, str], float] = {}

    def record(self, msg_id: str, path: str) -> None:
        now = time.time()
        with self.lock:
            self.at.setdefault((msg_id, path), now)


def _handler(receipts: Receipts) -> Any:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                request_line, *header_lines = head.decode("latin-1").split("\r\n")
                path = request_line.split(" ", 2)[1]
                length, msg_id = 0, ""
                for line in header_lines:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "webhook-id":
                        msg_id = value.strip()
                if length:
                    await reader.readexactly(length)
                receipts.record(msg_id, path)
                writer.write(_ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return handle


def _serve(count: int, receipts: Receipts, ports: list[int], ready: threading.Event) -> None:
    async def main() -> None:
        servers = [await asyncio.start_server(_handler(receipts), "127.0.0.1", 0) for _ in range(count)]
        ports.extend(server.sockets[0].getsockname()[1] for server in servers)
        ready.set()
        await asyncio.Event().wait()  # until the process ends

    asyncio.run(main())


def receivers_serve(count: int, conn: Any) -> None:
    receipts = Receipts()
    ports: list[int] = []
    ready = threading.Event()
    threading.Thread(target=_serve, args=(count, receipts, ports, ready), daemon=True).start()
    ready.wait(timeout=30)
    conn.send(ports)
    while True:
        command = conn.recv()
        if command == "count":
            with receipts.lock:
                conn.send(len(receipts.at))
        elif command == "clear":
            with receipts.lock:
                receipts.at.clear()
            conn.send(True)
        elif command == "receipts":
            with receipts.lock:
                conn.send(list(receipts.at.items()))
        else:
            break
