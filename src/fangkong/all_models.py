"""Imports every domain's models so that Base.metadata is complete (Alembic autogenerate, tests)."""

from fangkong.core.models import SystemSetting
from fangkong.people.models import Person
from fangkong.regions.models import Household, Region

__all__ = ["Household", "Person", "Region", "SystemSetting"]
