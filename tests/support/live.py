"""A real uvicorn server in a thread of the test process, on a free port of 127.0.0.1: for tests whose point is
what a running server does with many connections at once (threads, pools, locks), which a TestClient cannot show."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from fangkong.app import create_app
from fangkong.core.runtime import Runtime


@contextmanager
def serving(runtime: Runtime) -> Iterator[str]:
    """The base URL of the app of `runtime`, served until the block ends; the runtime's engine is the caller's."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive(), "the test server stopped while starting"
        assert time.monotonic() < deadline, "the test server did not start within 15 s"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
