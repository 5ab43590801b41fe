"""Who sees which cases and contacts. Investigators and commanders see the cases of their region subtrees; a
contact is also seen in the contact's own region, whose investigators follow them up wherever the case is.
Only investigators change anything. Outside one's scope a case or contact does not exist (NotFound)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.scope import in_regions
from fangkong.cases.models import Case, Contact
from fangkong.core.errors import Forbidden, NotFound

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


def get_case(db: Session, *, actor: Actor, case_id: int, for_change: bool = False) -> Case:
    """A case the actor may read, or (for_change) change: an investigator of the case's region."""
    if for_change:
        require_investigator(actor)
        scope = in_regions(Case.region_id, actor, Role.investigator)
    else:
        require_reader(actor)
        scope = readable_cases(actor)
    case = db.execute(select(Case).where(Case.id == case_id, scope)).scalar_one_or_none()
    if case is None:
        raise NotFound("no case %(id)s", id=case_id)
    return case


def get_contact(db: Session, *, actor: Actor, contact_id: int, for_change: bool = False) -> Contact:
    """A contact the actor may read, or (for_change) decide on and follow up: an investigator of the contact's
    region or of the case's."""
    if for_change:
        require_investigator(actor)
        scope = or_(
            in_regions(Contact.region_id, actor, Role.investigator),
            Contact.case_id.in_(select(Case.id).where(in_regions(Case.region_id, actor, Role.investigator))),
        )
    else:
        require_reader(actor)
        scope = readable_contacts(actor)
    contact = db.execute(select(Contact).where(Contact.id == contact_id, scope)).scalar_one_or_none()
    if contact is None:
        raise NotFound("no contact %(id)s", id=contact_id)
    return contact
