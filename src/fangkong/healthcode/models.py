"""Health codes: the cached current color of each person, every change of it (append-only), and the facts only
this domain records (fever at a checkpoint, declared stays in risk areas, review decisions, appeals).

The color is never stored by hand: it is computed by the pure engine from the facts (cases, contacts, test
results, stays, fevers, reviews) and cached in `health_code`; each change appends a `code_change` row saying
from what, to what, why (the structured reasons), under which policy edition, and who or which rule caused it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Float, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core import causes, clock
from fangkong.core.db import Base, UTCDateTime, enum_type
from fangkong.policy.editions import Color, RiskLevel


class CodeCause(enum.StrEnum):
    """Causes of a code change that this domain itself records (stored by value, worded by core.causes)."""

    first_use = "healthcode.first_use"
    phase_ended = "healthcode.phase_ended"  # time alone moved the code on
    fever = "healthcode.fever"  # params: celsius, venue
    review = "healthcode.review"  # params: review
    stay_declared = "healthcode.stay_declared"  # params: area
    appeal_filed = "healthcode.appeal_filed"  # params: appeal
    appeal_upheld = "healthcode.appeal_upheld"  # params: appeal
    appeal_corrected = "healthcode.appeal_corrected"  # params: appeal


causes.describe({
    CodeCause.first_use: "first use",
    CodeCause.phase_ended: "a period ended",
    CodeCause.fever: "fever of %(celsius)s °C at %(venue)s",
    CodeCause.review: "review decision #%(review)s",
    CodeCause.stay_declared: "stay in %(area)s declared",
    CodeCause.appeal_filed: "appeal #%(appeal)s filed",
    CodeCause.appeal_upheld: "appeal #%(appeal)s upheld",
    CodeCause.appeal_corrected: "appeal #%(appeal)s: a wrong fact corrected",
})  # fmt: skip


class HealthCode(Base):
    """The current status of a person's code: a cache of the engine's last answer, and the opaque handle that the
    QR token carries instead of anything identifying."""

    __tablename__ = "health_code"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), primary_key=True)
    handle: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    color: Mapped[Color] = mapped_column(enum_type(Color, 8))
    reasons: Mapped[str] = mapped_column(Text)  # JSON: [{"code", "params"}], worst first
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    policy: Mapped[str] = mapped_column(String(16))
    computed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)


class CodeChange(Base):
    """Append-only: one row per change of color (or of its reasons), with the cause."""

    __tablename__ = "code_change"
    __table_args__ = (Index("ix_code_change_person_id_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    from_color: Mapped[Color | None] = mapped_column(enum_type(Color, 8, name="fromcolor"))
    to_color: Mapped[Color] = mapped_column(enum_type(Color, 8, name="tocolor"))
    reasons: Mapped[str] = mapped_column(Text)
    policy: Mapped[str] = mapped_column(String(16))
    # Who or what: a user's name, or "rule" when time alone moved the code on (a phase ended).
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(64))
    # Why, as structure (core.causes): a kind such as "testing.result_entered" and JSON parameters {"result": 12},
    # worded in the reader's language when shown.
    cause_kind: Mapped[str] = mapped_column(String(64))
    cause_params: Mapped[str] = mapped_column(Text, default="{}")


class FeverRecord(Base):
    """A temperature of 37.3 °C or more taken at a venue's door: a fact for the engine."""

    __tablename__ = "fever_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    venue_id: Mapped[int | None] = mapped_column(ForeignKey("venue.id", ondelete="SET NULL"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    temperature: Mapped[float] = mapped_column(Float)
    recorded_by: Mapped[str] = mapped_column(String(64))


class DeclaredStay(Base):
    """A stay in (or residence in) a risk area, declared by the resident or found by a grid worker."""

    __tablename__ = "declared_stay"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    area: Mapped[str] = mapped_column(String(200))
    level: Mapped[RiskLevel] = mapped_column(enum_type(RiskLevel, 8))
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    declared_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)


class AppealStatus(enum.StrEnum):
    open = "open"
    upheld = "upheld"  # the color stands, with the investigator's reason
    corrected = "corrected"  # an underlying fact was corrected, which recomputed the color


class Appeal(Base):
    """流调复核: a resident who thinks their color is wrong asks an investigator of their region to review it."""

    __tablename__ = "appeal"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    color_when_filed: Mapped[Color] = mapped_column(enum_type(Color, 8))
    statement: Mapped[str] = mapped_column(Text)
    status: Mapped[AppealStatus] = mapped_column(enum_type(AppealStatus, 16))
    filed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(Text, default="")  # the investigator's reason, shown to the resident


class CodeReview(Base):
    """A color set by an investigator's review, the only way a color changes by hand: tied to the case or the
    contact record it rests on, with a written reason, until a given time. Audited; the engine applies it as a
    fact beside the rules, so the reasons always show it."""

    __tablename__ = "code_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"), index=True)
    color: Mapped[Color] = mapped_column(enum_type(Color, 8))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_record.id", ondelete="RESTRICT"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="RESTRICT"))
    reason: Mapped[str] = mapped_column(Text)
    start: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reviewed_by: Mapped[str] = mapped_column(String(64))
    reviewed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
