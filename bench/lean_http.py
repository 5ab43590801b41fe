"""A lean HTTP/1.1 load client for the benchmarks: keep-alive connections over asyncio streams, nothing else.

The load generator shares the machine's two cores with the server, so every microsecond it spends is taken from
the server. httpx costs about 300 µs of CPU per request; this client, which only writes a prepared request and
reads a Content-Length-framed answer, costs a fraction of that. It understands exactly what `fangkong serve`
(uvicorn) sends back and nothing more: no chunked bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: object | None = None
    units: int = 1  # how many check-ins the request carries (a batch carries many)


@dataclass(slots=True)
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    acknowledged: int = 0  # check-ins the server said it stored


def encode(request: Request, host: str, headers: dict[str, str], content_type: str = "application/json") -> bytes:
    body = b"" if request.body is None else json.dumps(request.body, separators=(",", ":")).encode()
    lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    if request.body is not None:
        lines.append(f"Content-Type: {content_type}")
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


def acknowledged_units(request: Request, status: int, body: bytes) -> int:
    """Check-ins stored by this answer: 1 for a 201 single, the batch's `accepted` for a 200 batch."""
    if status not in (200, 201) or request.method != "POST":
        return 0
    if request.units == 1:
        return 1
    return int(json.loads(body).get("accepted", 0))


async def run_load(
    host: str, port: int, requests: Sequence[Request], *, concurrency: int, headers: dict[str, str] | None = None
) -> LoadResult:
    """Send every request once with `concurrency` connections, each keeping one request in flight."""
    wire = [encode(r, f"{host}:{port}", headers or {}) for r in requests]  # prepared before the clock starts
    result = LoadResult(seconds=0.0)
    next_index = 0

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < len(wire):
                i = next_index
                next_index += 1
                start = time.perf_counter()
                writer.write(wire[i])
                status, body = await read_response(reader)
                result.latencies.append(time.perf_counter() - start)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                result.acknowledged += acknowledged_units(requests[i], status, body)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - start
    return result
