"""The server's periodic job (declared in venues/domain.py): delete check-ins whose retention has ended, so nobody has
to remember to. Every FANGKONG_CHECKIN_PURGE_INTERVAL_SECONDS (an hour by default); several server processes may
each run it: a DELETE of what is already gone deletes nothing."""

from __future__ import annotations

import datetime as dt

from fangkong.auth.actor import Actor
from fangkong.core.runtime import Runtime
from fangkong.venues.checkins import purge_in_chunks


def purge_once(runtime: Runtime) -> int:
    retention = dt.timedelta(days=runtime.settings.checkin_retention_days)
    return purge_in_chunks(runtime.database, actor=Actor.system(), retention=retention)
