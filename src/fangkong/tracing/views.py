"""Tracing API: `GET /api/trace`, the read-only co-presence query investigators and scripts rely on."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from fangkong.auth.deps import CurrentActor
from fangkong.core.deps import DbSession
from fangkong.core.inputs import Instant
from fangkong.tracing import service
from fangkong.tracing.engine import MAX_MIN_OVERLAP_MINUTES
from fangkong.tracing.schemas import EvidenceRead, TraceContactRead

router = APIRouter(tags=["tracing"])


@router.get("/trace", response_model=list[TraceContactRead])
def trace(
    db: DbSession,
    actor: CurrentActor,
    person: Annotated[str, Query(description="the index person's ref")],
    start: Annotated[Instant, Query(alias="from", description="window start, ISO 8601 with offset (included)")],
    end: Annotated[Instant, Query(alias="to", description="window end, ISO 8601 with offset (excluded)")],
    min_overlap: Annotated[
        float, Query(ge=0, le=MAX_MIN_OVERLAP_MINUTES, description="minutes together, summed over venues")
    ] = 10,
) -> list[TraceContactRead]:
    """Co-present contacts of a person over [from, to), longest overlap first, then by person ref."""
    contacts = service.trace(db, actor=actor, person_ref=person, start=start, end=end,
                             min_overlap=dt.timedelta(minutes=min_overlap))  # fmt: skip
    return [
        TraceContactRead(
            person_ref=c.person_ref,
            overlap_seconds=int(c.overlap.total_seconds()),
            venues=c.venue_refs,
            evidence=[
                EvidenceRead(
                    venue_ref=e.venue_ref,
                    venue_name=e.venue_name,
                    start=e.start,
                    end=e.end,
                    minutes=round(e.minutes, 1),
                )
                for e in c.evidence
            ],
        )
        for c in contacts
    ]
