"""Imports every domain's models so that Base.metadata is complete (Alembic autogenerate, tests)."""

from fangkong.auth.models import ApiToken, LoginAttempt, RoleGrant, User
from fangkong.core.audit_models import AuditEvent
from fangkong.core.models import SystemSetting
from fangkong.people.models import Person
from fangkong.regions.models import Household, Region

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Household",
    "LoginAttempt",
    "Person",
    "Region",
    "RoleGrant",
    "SystemSetting",
    "User",
]
