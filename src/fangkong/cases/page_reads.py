"""Small reads the case pages need beside the services: which regions to offer in the case list's filter, and
which of some cases the reader may open (a contact is seen in its own region even when its case is elsewhere, and
the contact list should not link to a case page that would answer 404). Scoped like the services; no personal
data, so nothing to audit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.cases.models import Case
from fangkong.cases.scope import CASE_READERS, readable_cases
from fangkong.regions.models import Region, RegionLevel
from fangkong.regions.service import subtree_clause

# Cases are filtered down to a street: finer regions would make the list of choices too long to use.
FILTER_LEVELS = (RegionLevel.city, RegionLevel.district, RegionLevel.street)


def filter_regions(db: Session, *, actor: Actor) -> list[Region]:
    """The cities, districts and streets within the actor's case-reading grants, in tree order."""
    found: dict[str, Region] = {}
    for grant in actor.grants_for(*CASE_READERS):
        stmt = select(Region).where(subtree_clause(Region.path, grant.region_path), Region.level.in_(FILTER_LEVELS))
        found |= {r.code: r for r in db.execute(stmt).scalars()}
    return sorted(found.values(), key=lambda r: r.path)


def readable_case_ids(db: Session, *, actor: Actor, case_ids: Iterable[int]) -> set[int]:
    ids = sorted(set(case_ids))
    found: set[int] = set()
    for i in range(0, len(ids), 1000):
        stmt = select(Case.id).where(Case.id.in_(ids[i : i + 1000]), readable_cases(actor))
        found.update(db.execute(stmt).scalars())
    return found
