"""Who sees which cases and contacts. Investigators and commanders see the cases of their region subtrees; a
contact is also seen in the contact's own region, whose investigators follow them up wherever the case is.
Only investigators change anything. Outside one's scope a case or contact does not exist (NotFound)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.scope import in_regions, one_in_scope
from fangkong.cases.models import Case, Contact
from fangkong.core.errors import Forbidden

CASE_READERS = (Role.investigator, Role.commander)


def readable_cases(actor: Actor) -> ColumnElement[bool]:
    return in_regions(Case.region_id, actor, *CASE_READERS)


def readable_contacts(actor: Actor) -> ColumnElement[bool]:
    return or_(
        in_regions(Contact.region_id, actor, *CASE_READERS),
        Contact.case_id.in_(select(Case.id).where(readable_cases(actor))),
    )


def require_reader(actor: Actor) -> None:
    if not actor.has(*CASE_READERS):
        raise Forbidden("only investigators and commanders see cases and contacts")


def require_investigator(actor: Actor) -> None:
    if not actor.has(Role.investigator):
        raise Forbidden("only investigators change cases and contacts")


def changeable_cases(actor: Actor) -> ColumnElement[bool]:
    """Cases an investigator of the case's region may change."""
    return in_regions(Case.region_id, actor, Role.investigator)


def changeable_contacts(actor: Actor) -> ColumnElement[bool]:
    """Contacts an investigator of the contact's region or of the case's may decide on and follow up."""
    return or_(
        in_regions(Contact.region_id, actor, Role.investigator),
        Contact.case_id.in_(select(Case.id).where(changeable_cases(actor))),
    )


def get_case(db: Session, *, actor: Actor, case_id: int, for_change: bool = False) -> Case:
    """A case the actor may read, or (for_change) change: an investigator of the case's region."""
    require_investigator(actor) if for_change else require_reader(actor)
    scope = changeable_cases(actor) if for_change else readable_cases(actor)
    return one_in_scope(db, Case, Case.id == case_id, scope, missing="no case %(id)s", id=case_id)


def get_contact(db: Session, *, actor: Actor, contact_id: int, for_change: bool = False) -> Contact:
    """A contact the actor may read, or (for_change) decide on and follow up."""
    require_investigator(actor) if for_change else require_reader(actor)
    scope = changeable_contacts(actor) if for_change else readable_contacts(actor)
    return one_in_scope(db, Contact, Contact.id == contact_id, scope, missing="no contact %(id)s", id=contact_id)
