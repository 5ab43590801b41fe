"""The audit trail: append-only, one row per change and per full-record read of a person.

Nothing in the code updates or deletes these rows, and the migration adds database triggers that refuse it. So
people and accounts that appear in the trail are deactivated, never deleted (the foreign keys restrict).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fangkong.core import clock
from fangkong.core.db import Base, UTCDateTime, enum_type


class AuditAction(enum.StrEnum):
    person_read = "person_read"  # the full record was shown to an official
    person_identity_read = "person_identity_read"  # the clear ID number / phone was shown
    person_update = "person_update"
    person_export = "person_export"
    person_import = "person_import"
    user_create = "user_create"
    role_grant = "role_grant"
    token_create = "token_create"  # noqa: S105
    token_revoke = "token_revoke"  # noqa: S105
    login = "login"
    logout = "logout"
    venue_change = "venue_change"
    checkin_purge = "checkin_purge"
    contact_trace = "contact_trace"  # a person's movements were read to find their contacts
    case_read = "case_read"
    case_change = "case_change"  # reported, reclassified, re-dated, isolated, outcome
    contact_decision = "contact_decision"  # a candidate confirmed (with its tier) or dismissed
    contact_change = "contact_change"  # follow-up status and notes
    assist_request = "assist_request"  # a cross-region assistance request (协查) filed for a named person
    test_result = "test_result"  # a test result entered or withdrawn
    policy_change = "policy_change"  # another policy edition put in force
    code_review = "code_review"  # an investigator's review decision on a health code
    appeal = "appeal"  # an appeal filed or decided
    code_read = "code_read"  # an official looked at a person's health code and its reasons


class Channel(enum.StrEnum):
    page = "page"
    api = "api"  # API with a session cookie
    token = "token"  # noqa: S105 - API with a bearer token
    cli = "cli"


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_person_id_at", "person_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    # Copied, not joined: the trail must still say who it was after an account changes or goes.
    actor_username: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(24))
    actor_region_code: Mapped[str | None] = mapped_column(String(20))
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, 8))
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[AuditAction] = mapped_column(enum_type(AuditAction, 32, constraint=False))
    entity_type: Mapped[str] = mapped_column(String(32))
    entity_ref: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    purpose: Mapped[str] = mapped_column(String(255), default="")  # why: the reason for a change, purpose of a read
    details: Mapped[str | None] = mapped_column(Text)
