"""What a domain package declares about itself, in one place (its `domain.py`), so that the application, the
command line, the server's lifespan and the model imports read one list (`fangkong.registry`) instead of being
edited by hand for every new domain.

Parts are named as "module:attribute" strings and imported only when asked for: `fangkong code show` does not
import the pages of every domain, and a declaration never creates an import cycle. `tests/test_registry.py`
resolves every name, so a typo fails the build rather than a request.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fangkong.core.runtime import Runtime

log = logging.getLogger("fangkong.jobs")


@dataclass(frozen=True, slots=True)
class Job:
    """A periodic job of the server: `run(runtime) -> count` every `interval` seconds (a Settings attribute; 0 turns
    it off), in a worker thread so requests go on. `done` is the log line for a run that did something ("%d")."""

    name: str
    run: str
    interval: str
    done: str


@dataclass(frozen=True, slots=True)
class Domain:
    """A domain's parts. Every field but the name is optional; see docs/adding-a-domain.md."""

    name: str
    models: tuple[str, ...] = ()  # the modules that define its tables
    api: tuple[str, ...] = ()  # APIRouters mounted under /api
    first_api: tuple[str, ...] = ()  # APIRouters mounted under /api before every other domain's (hot paths only)
    pages: tuple[str, ...] = ()  # page routers
    first_routes: tuple[str, ...] = ()  # factories of routes matched before all others (hot paths only)
    cli: str | None = None  # register(app, imports): its `fangkong` commands and `fangkong import` subcommands
    jobs: tuple[Job, ...] = ()
    subscriptions: str | None = None  # subscribe(): its handlers of facts announced by domains below it
    setup: str | None = None  # setup(app, runtime): per-process state on the application (e.g. a writer thread)


def resolve(name: str) -> Any:
    """The object named "package.module:attribute"."""
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


async def run_periodically(job: Job, runtime: Runtime) -> None:
    """Run a job every `interval` seconds until cancelled. A failed run is logged and does not end the loop: the
    next one tries again. Several server processes may each run it, so jobs are idempotent."""
    interval = float(getattr(runtime.settings, job.interval))
    run: Callable[[Runtime], int] = resolve(job.run)
    while True:
        await asyncio.sleep(interval)
        try:
            count = await asyncio.to_thread(run, runtime)
            if count:
                log.info(job.done, count)
        except Exception:
            log.exception("job %s failed", job.name)


def job_enabled(job: Job, runtime: Runtime) -> bool:
    return float(getattr(runtime.settings, job.interval)) > 0
