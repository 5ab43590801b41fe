"""Cases and their contacts. The rows `case_record` and `contact` hold the current state; every change to them is
also an append-only event row (`case_event`, `contact_event`) with actor, time and reason, from which the history
and the audit of decisions are read. Nothing updates or deletes an event.

A transmission chain needs no table of its own: a contact that later becomes a case points at that case
(`contact.became_case_id`), so case → contact → case links are followed through the contact rows.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core import causes, clock
from fangkong.core.db import Base, UTCDateTime, enum_type


class Classification(enum.StrEnum):
    suspected = "suspected"  # 疑似病例
    confirmed = "confirmed"  # 确诊病例
    asymptomatic = "asymptomatic"  # 无症状感染者

    @property
    def infectious(self) -> bool:
        """Cases whose contacts are traced: an infection found by a positive test, with or without symptoms."""
        return self is not Classification.suspected


class Severity(enum.StrEnum):
    mild = "mild"  # 轻型
    ordinary = "ordinary"  # 普通型
    severe = "severe"  # 重型
    critical = "critical"  # 危重型


class CaseOutcome(enum.StrEnum):
    discharged = "discharged"  # 治愈出院
    died = "died"  # 死亡


class CaseChange(enum.StrEnum):
    reported = "reported"
    classification = "classification"
    severity = "severity"
    onset = "onset"
    sampled = "sampled"  # first positive sampling time
    isolated = "isolated"
    treated_at = "treated_at"
    outcome = "outcome"
    traced = "traced"  # tracing ran: the window and how many candidates it found


class Case(Base):
    __tablename__ = "case_record"  # "case" is an SQL keyword
    __table_args__ = (Index("ix_case_record_region_id_reported_at", "region_id", "reported_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # One case per person: a change of classification (suspected → confirmed) is an event of the same case.
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), unique=True)
    # The person's region when the case was reported: investigators see the cases of their regions.
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    classification: Mapped[Classification] = mapped_column(enum_type(Classification, 16))
    severity: Mapped[Severity | None] = mapped_column(enum_type(Severity, 16))
    onset_date: Mapped[dt.date | None] = mapped_column(Date)
    first_positive_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    isolated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    treated_at: Mapped[str] = mapped_column(String(200), default="")  # hospital or isolation site
    outcome: Mapped[CaseOutcome | None] = mapped_column(
        enum_type(CaseOutcome, 16, name="outcome")
    )  # the CHECK keeps its name
    outcome_date: Mapped[dt.date | None] = mapped_column(Date)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The last tracing run: its window and the policy edition that set the look-back and minimum overlap.
    traced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    traced_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    traced_to: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    trace_policy: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class CaseCause(enum.StrEnum):
    """What this domain announces through core.facts (stored by value in change records, worded by core.causes)."""

    reported = "cases.case_reported"  # params: case
    changed = "cases.case_changed"  # params: case
    contact_confirmed = "cases.contact_confirmed"  # params: contact, tier
    contact_dismissed = "cases.contact_dismissed"  # params: contact


causes.describe({
    CaseCause.reported: "case #%(case)s reported",
    CaseCause.changed: "case #%(case)s changed",
    CaseCause.contact_confirmed: "contact record #%(contact)s confirmed",
    CaseCause.contact_dismissed: "contact record #%(contact)s dismissed",
})  # fmt: skip


class CaseEvent(Base):
    """Append-only: one row per change of a case. The kind is `change`; what it changed to is in `params` (JSON,
    core.causes), worded when shown: reported/classification {"classification"}, severity {"severity"}, onset
    {"date"}, sampled/isolated {"at": ISO instant}, treated_at {"place"}, outcome {"outcome", "date"}, traced
    {"start", "end", "policy", "new", "refreshed"}. `reason` is the investigator's own words."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="RESTRICT"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    change: Mapped[CaseChange] = mapped_column(enum_type(CaseChange, 16, constraint=False))
    params: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_username: Mapped[str] = mapped_column(String(64))


class ContactTier(enum.StrEnum):
    close = "close"  # 密切接触者 (密接)
    secondary = "secondary"  # 次密接
    companion = "companion"  # 时空伴随者


class ContactStatus(enum.StrEnum):
    candidate = "candidate"  # proposed by tracing, waiting for an investigator
    confirmed = "confirmed"
    dismissed = "dismissed"


class FollowUp(enum.StrEnum):
    to_trace = "to_trace"  # 待追踪
    traced = "traced"  # 已追踪: reached and informed
    under_observation = "under_observation"  # 医学观察中
    released = "released"  # 已解除


class EvidenceKind(enum.StrEnum):
    checkin = "checkin"  # at the same venue at the same time, from check-ins
    household = "household"  # registered in the same household
    interview = "interview"  # told to an investigator (manual contact)


class ContactChange(enum.StrEnum):
    proposed = "proposed"
    confirmed = "confirmed"
    dismissed = "dismissed"
    follow_up = "follow_up"
    note = "note"
    became_case = "became_case"


class Contact(Base):
    """A person linked to a case: a candidate proposed by tracing or an interview, then the investigator's decision.
    A secondary candidate hangs off the close contact it was traced from (`via_contact_id`)."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("case_id", "person_id", name="uq_contact_case_id_person_id"),
        Index("ix_contact_region_id_status", "region_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="RESTRICT"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    # The contact's own region: the investigators there follow them up even when the case is elsewhere.
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    via_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="RESTRICT"), index=True)
    proposed_tier: Mapped[ContactTier] = mapped_column(enum_type(ContactTier, 16))
    status: Mapped[ContactStatus] = mapped_column(enum_type(ContactStatus, 16))
    tier: Mapped[ContactTier | None] = mapped_column(enum_type(ContactTier, 16, name="decidedtier"))
    follow_up: Mapped[FollowUp | None] = mapped_column(enum_type(FollowUp, 24))
    # Summed co-presence over all venues (0 for household and interview contacts); first and last exposure over
    # all evidence. Secondary tracing starts at the first exposure.
    overlap_seconds: Mapped[int] = mapped_column(Integer, default=0)
    first_exposure_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_exposure_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When the contact was put under observation (centralized or home): the end of their own window.
    quarantined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    became_case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="SET NULL"), index=True)
    # Made by another region's answer to an assistance request (协查), or traced from such a contact: the case's
    # side learns the decision from the request, never who the person is; only the person's region reads it.
    # (No ON DELETE: SQLite adds the column in place with an inline REFERENCES whose action reflection cannot
    # read; requests are never deleted anyway.)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("assist_request.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class ContactEvidence(Base):
    """Why a person is a contact: a co-presence interval at a venue, the shared household, or an interview."""

    __tablename__ = "contact_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(enum_type(EvidenceKind, 16))
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="SET NULL"))
    # Copied so that the evidence still reads after a venue is gone or renamed.
    venue_ref: Mapped[str | None] = mapped_column(String(64))
    venue_name: Mapped[str | None] = mapped_column(String(200))
    start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)


class ContactEvent(Base):
    """Append-only: proposals, decisions (with their reasons), follow-up changes and dated notes. The kind is
    `change`, with `params` (JSON, core.causes): proposed {"source": "tracing", "evidence": [kinds],
    "overlap_minutes"} or {"source": "interview"}, became_case {"case"}. `reason` holds the investigator's words
    (a decision's reason, an interview's or a follow-up's note), never text of ours."""

    __tablename__ = "contact_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="RESTRICT"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    change: Mapped[ContactChange] = mapped_column(enum_type(ContactChange, 16, constraint=False))
    tier: Mapped[ContactTier | None] = mapped_column(enum_type(ContactTier, 16))
    follow_up: Mapped[FollowUp | None] = mapped_column(enum_type(FollowUp, 24))
    params: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_username: Mapped[str] = mapped_column(String(64))


class AssistStatus(enum.StrEnum):
    pending = "pending"  # 待协查: filed, waiting for the receiving region
    confirmed = "confirmed"  # the person's region confirmed the contact (and made the contact record)
    dismissed = "dismissed"  # the receiving region dismissed it with a reason (including "no such person")


class NamedBy(enum.StrEnum):
    ref = "ref"
    id_number = "id_number"


class AssistRequest(Base):
    """A cross-region assistance request (协查): an investigator named, for their case, a person outside their
    regions. It carries only what the requester supplied; the person is resolved here, server-side, and the
    request is addressed to the person's own region (or, when the name matches nobody, to the top of the
    requester's region tree). `status` is the current state; every change is an `assist_event` row."""

    __tablename__ = "assist_request"
    __table_args__ = (Index("ix_assist_request_to_region_id_status_filed_at", "to_region_id", "status", "filed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id", ondelete="RESTRICT"), index=True)
    # The requester's unit (their grant's region, e.g. a district), as the receiving side is told: the case's
    # own region would name the case's grid. Who may read the request on the requesting side follows the case.
    from_region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    to_region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))
    # Who was named, as the requester named them: a ref as typed, or an ID number kept as its keyed lookup hash
    # (people.pii) and its masked form, never in clear. `person_id` is what the registry matched, if anyone.
    named_by: Mapped[NamedBy] = mapped_column(enum_type(NamedBy, 16))
    person_ref: Mapped[str | None] = mapped_column(String(64))
    id_hash: Mapped[bytes | None] = mapped_column(LargeBinary(16))
    id_masked: Mapped[str | None] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    tier: Mapped[ContactTier] = mapped_column(enum_type(ContactTier, 16))
    exposure_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    exposure_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    venue: Mapped[str] = mapped_column(String(200), default="")
    note: Mapped[str] = mapped_column(Text)
    status: Mapped[AssistStatus] = mapped_column(enum_type(AssistStatus, 16))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    requested_by: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_tier: Mapped[ContactTier | None] = mapped_column(enum_type(ContactTier, 16, name="assistdecidedtier"))
    # The region of the deciding investigator's grant: what the requester is told answered them.
    decided_region_id: Mapped[int | None] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"))


class AssistChange(enum.StrEnum):
    filed = "filed"
    confirmed = "confirmed"
    dismissed = "dismissed"


class AssistEvent(Base):
    """Append-only: the filing and the decision of a request, with actor and reason. `params` (JSON): confirmed
    {"contact": id, "tier"}; `reason` is the person's own words (the requester's note, the decision's reason)."""

    __tablename__ = "assist_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("assist_request.id", ondelete="RESTRICT"), index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    change: Mapped[AssistChange] = mapped_column(enum_type(AssistChange, 16, constraint=False))
    params: Mapped[str] = mapped_column(Text, default="{}")
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_region_code: Mapped[str | None] = mapped_column(String(20))
