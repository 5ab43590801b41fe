"""Bounds on the work anyone may cause, so that nobody's requests take the threads the city's hot paths need.

FastAPI runs every synchronous view and dependency on anyio's default thread limiter: 40 threads per process,
shared by everything. The resident's code display (`/api/healthcode/me`), the door's verification and the
check-ins need them; a flood of a slow public page (85 ms a request) once held all 40, and the code display fell
from 365 to 8 answers a second (issue 13). Three tools here keep that from happening:

- `Gate`: a few threads of its own (a dedicated executor, not anyio's limiter) for one kind of work, with a bounded
  queue of waiting turns. When every thread is busy and the queue is full, a new turn is refused at once with 503
  and Retry-After (`Busy`) rather than queued: the caller learns in a millisecond that it should come back.
  A turn is taken on the event loop, never in a thread, so waiting costs no thread either.
- `SharedAnswers`: a short-lived cache of computed answers, keyed, shared by every request. An answer is computed
  at most once per key while it is fresh, and a key being computed is computed once however many requests ask for
  it at the same time (single flight); they all wait for the one computation, on the event loop.
- `Pace`: at most so many answers a second; the others wait for their moment on the event loop (a timer: no
  thread, no work). A cached answer still costs the event loop its parsing, routing and sending, and a flood of
  them answered as fast as it asks took the loop from the hot paths (bench/public_load.py, docs/benchmarks.md); a
  flood that waits for its answers is slowed to the pace, and one whose moment is too far away is refused after
  waiting Retry-After, so it cannot ask faster by not waiting.
- `GuestLimit`: the pure ASGI middleware that gives requests without credentials (no `Authorization`, no valid
  session cookie) a bounded number of turns at the application, with a bounded queue and 503 beyond it. Whatever
  an unauthenticated route does, guests can hold at most `slots` of the pool's threads at once. Paths that hold no
  thread of the pool (the liveness probe, static files, pages with a gate of their own) are exempt.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from weakref import WeakKeyDictionary

from starlette.exceptions import HTTPException
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")
RETRY_AFTER_SECONDS = 1
BUSY_MESSAGE = "the server is busy; try again in a second"


class Busy(HTTPException):
    """Every turn of a gate is taken and its queue is full: 503 with Retry-After, answered at once."""

    def __init__(self) -> None:
        super().__init__(503, BUSY_MESSAGE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@dataclass(slots=True)
class _Turns:
    """The turns of one gate on one event loop (asyncio primitives belong to the loop they were made on)."""

    semaphore: asyncio.Semaphore
    waiting: int = 0


class Turns:
    """At most `slots` holders at once, at most `queue` waiting; beyond that `Busy` at once."""

    def __init__(self, *, slots: int, queue: int) -> None:
        if slots < 1 or queue < 0:
            raise ValueError("a gate needs at least one slot and a queue of zero or more")
        self.slots = slots
        self.queue = queue
        self._loops: WeakKeyDictionary[asyncio.AbstractEventLoop, _Turns] = WeakKeyDictionary()

    def _here(self) -> _Turns:
        loop = asyncio.get_running_loop()
        turns = self._loops.get(loop)
        if turns is None:
            turns = self._loops[loop] = _Turns(asyncio.Semaphore(self.slots))
        return turns

    def held(self) -> int:
        """Turns held now (on this event loop)."""
        return self.slots - self._here().semaphore._value

    def waiting(self) -> int:
        return self._here().waiting

    def full(self) -> bool:
        turns = self._here()
        return turns.semaphore.locked() and turns.waiting >= self.queue

    async def acquire(self) -> None:
        """Take a turn, waiting on the event loop if the queue has room; `Busy` at once otherwise."""
        turns = self._here()
        if not turns.semaphore.locked():
            await turns.semaphore.acquire()
            return
        if turns.waiting >= self.queue:
            raise Busy()
        turns.waiting += 1
        try:
            await turns.semaphore.acquire()
        finally:
            turns.waiting -= 1

    def release(self) -> None:
        self._here().semaphore.release()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class Gate(Turns):
    """Turns with threads of their own: `slots` threads, used only by holders of a turn, so a holder never waits
    for a thread and nothing else (anyio's limiter, the hot paths) waits for these."""

    def __init__(self, name: str, *, slots: int, queue: int) -> None:
        super().__init__(slots=slots, queue=queue)
        self.name = name
        self._threads = ThreadPoolExecutor(max_workers=slots, thread_name_prefix=f"gate-{name}")

    async def in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn(*args)` on one of the gate's threads, with this context's variables. The caller holds a turn."""
        call = functools.partial(contextvars.copy_context().run, fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self._threads, call)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Take a turn (or `Busy`) and run `fn(*args)` on the gate's threads."""
        async with self.turn():
            return await self.in_thread(fn, *args)


class Pace:
    """At most `per_second` callers a second go on, in order of arrival; the others wait for their moment. A caller
    whose moment is more than `max_wait` seconds away waits `RETRY_AFTER_SECONDS` and is refused (`Busy`).
    `per_second` 0 lets everyone go at once."""

    def __init__(self, *, per_second: float, max_wait: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.max_wait = max_wait
        self.clock = clock
        self._next = 0.0

    def admit(self) -> float | None:
        """The seconds this caller waits for its moment (which is then taken), or None when it is too far away."""
        if self.per_second <= 0:
            return 0.0
        now = self.clock()
        moment = max(now, self._next)
        if moment - now > self.max_wait:
            return None
        self._next = moment + 1 / self.per_second
        return moment - now

    async def wait(self) -> None:
        delay = self.admit()
        if delay is None:
            await asyncio.sleep(RETRY_AFTER_SECONDS)
            raise Busy()
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(slots=True)
class _Entry(Generic[T]):
    future: asyncio.Future[T]
    loop: asyncio.AbstractEventLoop
    fresh_until: float = field(default=float("inf"))  # set when the computation ends


class SharedAnswers(Generic[T]):
    """Answers computed at most once per key in `fresh_seconds`, shared by all callers, one computation per key at
    a time (single flight). At most `max_entries` keys are kept, the least recently used go first. A computation
    that fails is not kept: its callers get its error, the next caller computes again."""

    def __init__(
        self, *, fresh_seconds: float, max_entries: int = 512, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fresh_seconds = fresh_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()

    def clear(self) -> None:
        self._entries.clear()

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        loop = asyncio.get_running_loop()
        entry = self._entries.get(key)
        if entry is not None:
            future = entry.future
            if future.done():
                if self.clock() < entry.fresh_until:
                    self._entries.move_to_end(key)
                    return future.result()
            elif entry.loop is loop:
                return await asyncio.shield(future)  # one caller leaving does not cancel the others' answer
        # The computation runs as a task of its own: it belongs to no caller, so none can cancel it for the rest.
        task: asyncio.Future[T] = asyncio.ensure_future(compute())
        entry = _Entry(task, loop)
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        task.add_done_callback(functools.partial(self._finished, key, entry))
        return await asyncio.shield(task)

    def _finished(self, key: Hashable, entry: _Entry[T], future: asyncio.Future[T]) -> None:
        if future.cancelled() or future.exception() is not None:
            if self._entries.get(key) is entry:
                del self._entries[key]
        else:
            entry.fresh_until = self.clock() + self.fresh_seconds


def _busy_answer() -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": {"code": "busy", "message": BUSY_MESSAGE}}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"retry-after", str(RETRY_AFTER_SECONDS).encode())]  # fmt: skip
    return headers, body


class GuestLimit:
    """Requests without credentials take a turn (`slots` at once, `queue` waiting, 503 with Retry-After beyond).

    Credentials are an `Authorization` header (a forged token costs the one indexed lookup that refuses it, as on
    the hot paths) or a session cookie that `signed_in` accepts (its signature and age, no I/O): a made-up cookie
    is a guest's. `exempt` are the paths (a prefix when it ends with "/") that hold no thread of the pool or have a
    gate of their own."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        slots: int,
        queue: int,
        session_cookie: str,
        signed_in: Callable[[str], bool],
        exempt: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.turns = Turns(slots=slots, queue=queue)
        self.cookie = session_cookie
        self.cookie_marker = session_cookie.encode() + b"="
        self.signed_in = signed_in
        exempt = tuple(exempt)
        self.exempt_paths = frozenset(p for p in exempt if not p.endswith("/"))
        self.exempt_prefixes = tuple(p for p in exempt if p.endswith("/"))

    def _exempt(self, path: str) -> bool:
        return path in self.exempt_paths or path.startswith(self.exempt_prefixes)

    def _is_guest(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return False
            if name == b"cookie" and self.cookie_marker in value:
                session = cookie_parser(value.decode("latin-1")).get(self.cookie)
                if session and self.signed_in(session):
                    return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]) or not self._is_guest(scope):
            await self.app(scope, receive, send)
            return
        try:
            await self.turns.acquire()
        except Busy:
            headers, body = _busy_answer()
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.turns.release()
