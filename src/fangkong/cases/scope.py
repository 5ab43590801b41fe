"""Who sees which cases and contacts. Investigators and commanders see the cases of their region subtrees; a
contact is also seen in the contact's own region, whose investigators follow them up wherever the case is.
Only investigators change anything. Outside one's scope a case or contact does not exist (NotFound).

A contact made by another region's answer to an assistance request (`contact.request_id`) is seen and changed in
the contact's own region only: the case's side learns the decision from its request, never who the person is.
Requests are seen by the regions on both sides: the requester's (the case's region) and the receiver's."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.models import Role
from fangkong.auth.scope import in_regions, one_in_scope
from fangkong.cases.models import AssistRequest, Case, Contact
from fangkong.core.errors import Forbidden

CASE_READERS = (Role.investigator, Role.commander)


def readable_cases(actor: Actor) -> ColumnElement[bool]:
    return in_regions(Case.region_id, actor, *CASE_READERS)


def readable_contacts(actor: Actor) -> ColumnElement[bool]:
    return or_(
        in_regions(Contact.region_id, actor, *CASE_READERS),
        and_(Contact.request_id.is_(None), Contact.case_id.in_(select(Case.id).where(readable_cases(actor)))),
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
        and_(Contact.request_id.is_(None), Contact.case_id.in_(select(Case.id).where(changeable_cases(actor)))),
    )


def investigated_regions(column: object, actor: Actor) -> ColumnElement[bool]:
    """The region in `column` lies in the actor's investigator grants: where they may name people directly."""
    return in_regions(column, actor, Role.investigator)


def incoming_requests(actor: Actor, *, for_decision: bool = False) -> ColumnElement[bool]:
    """Requests addressed to the actor's regions: investigators decide them, commanders read them."""
    roles = (Role.investigator,) if for_decision else CASE_READERS
    return in_regions(AssistRequest.to_region_id, actor, *roles)


def outgoing_requests(actor: Actor) -> ColumnElement[bool]:
    """Requests filed for the cases the actor reads: their decisions only."""
    return AssistRequest.case_id.in_(select(Case.id).where(readable_cases(actor)))


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
