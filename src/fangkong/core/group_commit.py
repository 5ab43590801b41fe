"""Group commit: one durable transaction for the small writes of many concurrent requests.

A single check-in is a few dozen bytes, but its commit is a disk flush (SQLite with synchronous=FULL, PostgreSQL
with its WAL flush) that costs milliseconds; a transaction per request caps a server at a few hundred writes a
second, and requests that wait for SQLite's write lock poll for it. Instead, requests hand their work to one
writer thread and wait. The writer takes everything that queued up while it was busy, does it in one unit of
work, commits, and only then answers each request: an acknowledged write is durable, and under load one flush
serves hundreds of requests. Under no load a request waits for nothing but its own commit.

Work that needs no database (checking a signature, say) can be given as `prepare`: a thread of its own then
does it for everything that queued up meanwhile and hands the prepared items on to the writer, so it runs beside
the writer's commit of the previous group instead of inside the next transaction.

Each thread starts on the first submission and ends after a second with nothing to do, so an idle server (or a
test's application) holds no thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from fangkong.core.db import Database

log = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


Entry = tuple[Item, "asyncio.Future[Result]"]


class _Drain(Generic[Item, Result]):
    """A thread that takes everything queued while it was busy (up to `max_batch` entries) and hands it to `handle`.
    It starts on the first submission and ends after `idle_seconds` with nothing to do."""

    def __init__(
        self, name: str, handle: Callable[[list[Entry[Item, Result]]], None], max_batch: int, idle_seconds: float
    ) -> None:
        self._name = name
        self._handle = handle
        self._max_batch = max_batch
        self._idle_seconds = idle_seconds
        self._queue: queue.SimpleQueue[list[Entry[Item, Result]]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def submit(self, entries: list[Entry[Item, Result]]) -> None:
        with self._lock:
            self._queue.put(entries)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name=self._name, daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                pending = self._queue.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    # submit() puts under the lock, so an empty queue here stays empty until a new thread starts.
                    if self._queue.empty():
                        self._running = False
                        return
                continue
            while len(pending) < self._max_batch:
                try:
                    pending.extend(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._handle(pending)
            except Exception as exc:  # a bug, not a refusal: every waiting request gets it (a 500), none hangs
                log.exception("%s failed for %d items", self._name, len(pending))
                _answer(pending, [exc] * len(pending))


class GroupCommitter(Generic[Item, Result]):
    """`work(db, items)` does the items' writes in `db` and returns one outcome per item, in order: its result,
    or the error that item alone gets (an unknown venue, say). An exception out of `work` or the commit fails
    every item of the transaction. `prepare(items)`, when given, returns the items as the writer is to see them,
    one per item, in order; it runs in its own thread, outside any transaction."""

    def __init__(
        self,
        database: Database,
        work: Callable[[Session, Sequence[Item]], Sequence[Result | Exception]],
        *,
        prepare: Callable[[Sequence[Item]], Sequence[Item]] | None = None,
        name: str = "group-commit",
        max_batch: int = 2000,
        idle_seconds: float = 1.0,
    ) -> None:
        self._database = database
        self._work = work
        self._prepare = prepare
        self._writer = _Drain(name, self._commit, max_batch, idle_seconds)
        self._preparer = None if prepare is None else _Drain(f"{name}-prepare", self._prepared, max_batch, idle_seconds)
        self.batches = 0  # how many transactions, for the curious (and the tests)

    async def run(self, item: Item) -> Result:
        """Do one item's work; return once the commit that stored it is done (or raise the item's error)."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        (self._preparer or self._writer).submit([(item, future)])
        return await future

    def _prepared(self, pending: list[Entry[Item, Result]]) -> None:
        assert self._prepare is not None
        items = self._prepare([item for item, _ in pending])
        if len(items) != len(pending):
            raise RuntimeError(f"group commit prepare returned {len(items)} items for {len(pending)}")
        self._writer.submit([(item, future) for item, (_, future) in zip(items, pending, strict=True)])

    def _commit(self, pending: list[Entry[Item, Result]]) -> None:
        items = [item for item, _ in pending]
        outcomes: Sequence[Result | Exception]
        try:
            with self._database.unit_of_work() as db:
                outcomes = self._work(db, items)
                if len(outcomes) != len(items):
                    raise RuntimeError(f"group commit work returned {len(outcomes)} outcomes for {len(items)} items")
        except Exception as exc:  # the transaction is rolled back: nobody in it was stored
            log.exception("group commit of %d items failed", len(items))
            outcomes = [exc] * len(items)
        else:
            self.batches += 1
        _answer(pending, outcomes)


def _answer(pending: Sequence[Entry[Item, Result]], outcomes: Sequence[Result | Exception]) -> None:
    """Settle each request's future with its outcome. One wake-up per event loop for the whole group, not one per
    request: waking a loop costs a syscall."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Result], Result | Exception]]] = {}
    for (_, future), outcome in zip(pending, outcomes, strict=True):
        by_loop.setdefault(future.get_loop(), []).append((future, outcome))
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, settled)
        except RuntimeError:  # that loop has closed: nobody is waiting for these answers any more
            log.warning("group commit: %d answers for a closed event loop", len(settled))


def _settle(settled: list[tuple[asyncio.Future[Result], Result | Exception]]) -> None:
    for future, outcome in settled:
        if future.cancelled():  # the client went away; its write is stored all the same
            continue
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
