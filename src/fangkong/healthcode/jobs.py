"""The server's periodic job for codes that time alone has moved on: a close contact's red turns yellow when the
quarantine ends, whether or not anyone looks. Each such code is recomputed and the change recorded as the rule's,
so the command centre's counts and the codes' histories do not wait for the next scan at a door. Declared in
healthcode/domain.py; every FANGKONG_CODE_REFRESH_INTERVAL_SECONDS."""

from __future__ import annotations

from sqlalchemy import select

from fangkong.core import clock
from fangkong.core.runtime import Runtime
from fangkong.healthcode.models import HealthCode
from fangkong.healthcode.service import current

BATCH = 1000  # codes per transaction


def refresh_due(runtime: Runtime) -> int:
    """Recompute every cached code whose valid_until has passed; returns how many."""
    done = 0
    while True:
        with runtime.database.unit_of_work() as db:
            due = db.execute(
                select(HealthCode.person_id).where(HealthCode.valid_until <= clock.now()).limit(BATCH)
            ).scalars().all()  # fmt: skip
            for person_id in due:
                current(db, person_id=person_id)
        done += len(due)
        if len(due) < BATCH:
            return done
