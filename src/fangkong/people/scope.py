"""Who may read whom in the registry: the readable-statement of the people domain. Every list, read, search and
export of people filters through `readable_people`: officials see their region subtrees (for the roles that need
the registry), a resident sees themself, nobody else sees anything. Outside one's scope a person does not exist.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.scope import PEOPLE_READERS, in_regions, one_in_scope
from fangkong.people.models import Person


def readable_people(actor: Actor) -> ColumnElement[bool]:
    """A WHERE clause on Person: the people this actor may see."""
    if actor.is_system:
        return true()
    clauses: list[ColumnElement[bool]] = []
    if actor.grants_for(*PEOPLE_READERS):
        clauses.append(in_regions(Person.region_id, actor, *PEOPLE_READERS))
    if actor.person_id is not None and Role.resident in actor.roles:
        clauses.append(Person.id == actor.person_id)
    return or_(*clauses) if clauses else false()


def people_query(actor: Actor) -> Select[Person]:
    return select(Person).where(readable_people(actor))


def get_readable_person(db: Session, *, actor: Actor, ref: str) -> Person:
    """The person, or NotFound: outside one's scope a person does not exist (403 would confirm they do)."""
    where = (readable_people(actor), Person.ref == ref)
    return one_in_scope(db, Person, *where, missing="no person with ref %(ref)s", ref=ref)
