"""The server's periodic job: delete check-ins whose retention has ended, so nobody has to remember to."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fangkong.auth.actor import Actor
from fangkong.core.runtime import Runtime
from fangkong.venues.checkins import purge_in_chunks

log = logging.getLogger("fangkong.jobs")


def purge_once(runtime: Runtime) -> int:
    retention = dt.timedelta(days=runtime.settings.checkin_retention_days)
    return purge_in_chunks(runtime.database, actor=Actor.system(), retention=retention)


async def purge_periodically(runtime: Runtime) -> None:
    """Every FANGKONG_CHECKIN_PURGE_INTERVAL_SECONDS (an hour by default), in a worker thread so requests go on.
    Several server processes may each run it: a DELETE of what is already gone deletes nothing."""
    interval = runtime.settings.checkin_purge_interval_seconds
    while True:
        await asyncio.sleep(interval)
        try:
            deleted = await asyncio.to_thread(purge_once, runtime)
            if deleted:
                log.info("purged %d check-ins past retention", deleted)
        except Exception:  # a failed run must not end the loop; the next one tries again
            log.exception("check-in purge failed")
