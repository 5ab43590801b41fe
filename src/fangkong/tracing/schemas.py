from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class EvidenceRead(BaseModel):
    venue_ref: str
    venue_name: str
    start: dt.datetime
    end: dt.datetime
    minutes: float


class TraceContactRead(BaseModel):
    """One co-present contact, as `fangkong trace --json` prints it, with the evidence for each venue."""

    person_ref: str
    overlap_seconds: int
    venues: list[str]
    evidence: list[EvidenceRead]
