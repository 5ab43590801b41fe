"""The one scoping primitive: "rows whose region lies within the actor's grants for these roles". Each domain that
owns personal data builds its readable-statement on it beside its models (people/scope.py, cases/scope.py), the
pattern of Polar's repositories (`get_readable_statement(auth_subject)`), so there is one way to scope a query.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.core.errors import NotFound
from fangkong.regions.models import Region
from fangkong.regions.service import subtree_clause

# Roles whose work needs the resident registry of their region. Venue operators and labs work on venues and
# tubes, admins on accounts: none of them reads people (least privilege).
PEOPLE_READERS = (
    Role.grid_worker,
    Role.investigator,
    Role.quarantine_staff,
    Role.sampler,
    Role.commander,
)


def in_regions(column: Any, actor: Actor, *roles: Role) -> ColumnElement[bool]:
    """A WHERE clause: the region id in `column` lies in a subtree of one of the actor's grants for these roles.
    The system operator sees everything; an actor with no such grant sees nothing."""
    if actor.is_system:
        return true()
    clauses = [
        column.in_(select(Region.id).where(subtree_clause(Region.path, g.region_path)))
        for g in actor.grants_for(*roles)
    ]
    return or_(*clauses) if clauses else false()


T = TypeVar("T")


def one_in_scope(db: Session, model: type[T], *where: ColumnElement[bool], missing: str, **params: object) -> T:
    """The one `model` row matching `where` (which includes the caller's readable statement), or NotFound with the
    message `missing`: outside one's scope a row does not exist (403 would confirm that it does)."""
    row = db.execute(select(model).where(*where)).scalar_one_or_none()
    if row is None:
        raise NotFound(missing, **params)
    return row
