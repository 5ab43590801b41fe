"""FastAPI dependencies shared by every domain's views: the unit of work and the keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import Depends, Request
from fastapi.concurrency import contextmanager_in_threadpool
from sqlalchemy.orm import Session

from fangkong.core.crypto import Keyring
from fangkong.core.db import Database
from fangkong.core.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


# One request at a time per process holds a SQLite transaction (there is one write lock, and BEGIN IMMEDIATE
# takes it for every unit of work); the others wait here, on the event loop, not in a thread. A request runs in
# several steps on the thread pool (the session's dependencies, the view, the commit): with the waiters in the
# threads, 64 concurrent requests left no thread for the holder's next step, and one process stalled until
# SQLite's busy timeout failed them (bench/verify_load.py --route fastapi). Keyed by event loop: a lock
# belongs to the loop it was first used on, and tests run several.
_SQLITE_GATES: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = WeakKeyDictionary()


def _sqlite_gate() -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    gate = _SQLITE_GATES.get(loop)
    if gate is None:
        gate = _SQLITE_GATES[loop] = asyncio.Lock()
    return gate


@asynccontextmanager
async def database_turn(database: Database) -> AsyncIterator[None]:
    """This request's turn at the database, for work that opens its own unit of work outside `get_db` (the public
    pages' shared answers, web/limits.py): on SQLite the same queue as every request's, nothing on PostgreSQL."""
    if database.dialect == "sqlite":
        async with _sqlite_gate():
            yield
    else:
        yield


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed when the view returns, rolled back when it raises. The session is
    opened, committed and closed on the thread pool, as FastAPI runs a synchronous dependency."""
    database = get_runtime(request).database
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(database_turn(database))
        yield await stack.enter_async_context(contextmanager_in_threadpool(database.unit_of_work()))


async def get_keys(request: Request) -> Keyring:  # async: no I/O, so no step on the thread pool
    return get_runtime(request).keys


DbSession = Annotated[Session, Depends(get_db)]
Keys = Annotated[Keyring, Depends(get_keys)]
