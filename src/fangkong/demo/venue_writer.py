"""The writer of the demo city's venues and check-ins (planned, pure, in demo/venues.py): venues upsert by ref, and
check-ins are written only into a database that has none yet. Their times depend on the clock, so a second run at
another time would otherwise add a second fortnight beside the first; re-running the demo therefore keeps the
check-ins it made.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.core import clock
from fangkong.core.importing import chunks
from fangkong.demo.population import RegionSpec
from fangkong.demo.venues import WRITE_BATCH, Resident, VenueSpec, demo_checkins, demo_venues
from fangkong.people.models import Person
from fangkong.regions.models import Region
from fangkong.venues.checkins import insert_checkins
from fangkong.venues.models import Checkin, CheckinSource, Venue
from fangkong.venues.service import new_token


@dataclass(frozen=True, slots=True)
class DemoVenuesReport:
    venues_created: int
    venues_updated: int
    venues_unchanged: int
    checkins: int
    checkins_kept: bool  # the database had check-ins already: none were generated

    def summary(self) -> str:
        venues = (
            f"venues created {self.venues_created}, updated {self.venues_updated}, unchanged {self.venues_unchanged}"
        )
        if self.checkins_kept:
            return f"{venues}; check-ins already present, none added"
        return f"{venues}; check-ins {self.checkins}"


def write_venues(db: Session, specs: Sequence[VenueSpec]) -> tuple[list[int], int, int]:
    """Upsert the venues by ref; returns their ids (in the order of `specs`), how many were created and updated."""
    codes = {s.region_code for s in specs}
    region_ids: dict[str, int] = dict(db.execute(select(Region.code, Region.id).where(Region.code.in_(codes))).all())
    existing: dict[str, Venue] = {}
    for batch in chunks([s.ref for s in specs], 2000):
        existing |= {v.ref: v for v in db.execute(select(Venue).where(Venue.ref.in_(batch))).scalars()}
    created = updated = 0
    rows: list[Venue] = []
    for s in specs:
        values = {"name": s.name, "kind": s.kind, "region_id": region_ids[s.region_code], "address": s.address,
                  "capacity": s.capacity}  # fmt: skip
        venue = existing.get(s.ref)
        if venue is None:
            venue = Venue(ref=s.ref, token=new_token(), **values)
            db.add(venue)
            created += 1
        elif any(getattr(venue, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(venue, k, v)
            updated += 1
        rows.append(venue)
    db.flush()
    return [v.id for v in rows], created, updated


def write_checkins(
    db: Session,
    checkins: Iterable[tuple[int, int, dt.datetime, dt.datetime | None]],
    *,
    person_ids: Sequence[int],
    venue_ids: Sequence[int],
    on_batch: Callable[[int], None] | None = None,
) -> int:
    """Insert check-ins given by person and venue index, in batches through the driver's executemany;
    `on_batch(n)` after each batch (the progress bar)."""
    written = 0
    batch: list[tuple[int, int, dt.datetime, dt.datetime | None, str | None]] = []
    for person, venue, at, out in checkins:
        batch.append((person_ids[person], venue_ids[venue], at, out, None))
        if len(batch) >= WRITE_BATCH:
            insert_checkins(db, batch, CheckinSource.import_)
            written += len(batch)
            if on_batch is not None:
                on_batch(len(batch))
            batch = []
    insert_checkins(db, batch, CheckinSource.import_)
    if on_batch is not None and batch:
        on_batch(len(batch))
    return written + len(batch)


def fill_demo_venues(
    db: Session,
    *,
    regions: Sequence[RegionSpec],
    residents: Sequence[Resident],
    seed: int,
    days: int = 14,
    now: dt.datetime | None = None,
    on_checkins: Callable[[int], None] | None = None,
) -> DemoVenuesReport:
    """Write the demo's venues (upsert by ref) and, into a database without check-ins, `days` of check-ins."""
    now = now or clock.now()
    specs = demo_venues(regions, seed, people=len(residents))
    venue_ids, created, updated = write_venues(db, specs)
    if created or updated:
        details = f"demo seed {seed}: created {created}, updated {updated}"
        audit.record(db, actor=Actor.system(), action=AuditAction.venue_change, entity_type="import",
                     entity_ref="venues", details=details)  # fmt: skip
    kept = db.execute(select(Checkin.id).limit(1)).first() is not None
    written = 0
    if not kept and specs:
        by_ref: dict[str, int] = dict(db.execute(select(Person.ref, Person.id)).all())
        person_ids = [by_ref[r.ref] for r in residents]
        checkins = demo_checkins(residents, specs, days=days, seed=seed, now=now)
        written = write_checkins(db, checkins, person_ids=person_ids, venue_ids=venue_ids, on_batch=on_checkins)
    return DemoVenuesReport(created, updated, len(specs) - created - updated, written, kept)
