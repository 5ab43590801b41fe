"""Imports every domain's models so that Base.metadata is complete (Alembic autogenerate, tests)."""

from fangkong.auth.models import ApiToken, LoginAttempt, RoleGrant, User
from fangkong.cases.models import Case, CaseEvent, Contact, ContactEvent, ContactEvidence
from fangkong.core.audit_models import AuditEvent
from fangkong.core.models import SystemSetting
from fangkong.healthcode.models import Appeal, CodeChange, CodeReview, DeclaredStay, FeverRecord, HealthCode
from fangkong.people.models import Person
from fangkong.regions.models import Household, Region
from fangkong.testing.models import TestResult
from fangkong.venues.models import Checkin, RetiredVenueToken, Venue

__all__ = [
    "ApiToken",
    "Appeal",
    "AuditEvent",
    "Case",
    "CaseEvent",
    "Checkin",
    "CodeChange",
    "CodeReview",
    "Contact",
    "ContactEvent",
    "ContactEvidence",
    "DeclaredStay",
    "FeverRecord",
    "HealthCode",
    "Household",
    "LoginAttempt",
    "Person",
    "Region",
    "RetiredVenueToken",
    "RoleGrant",
    "SystemSetting",
    "TestResult",
    "User",
    "Venue",
]
