"""People as officials and residents reach them: always through auth.scope, and audited when an official
reads a full record, sees clear identity data, exports, or changes anything."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, or_, select
from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.auth.models import Role
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Forbidden, Invalid
from fangkong.core.ids import InvalidIdentity, normalize_phone
from fangkong.people import pii
from fangkong.people.models import Person
from fangkong.people.schemas import AccessLogEntry, PersonRead, PersonUpdate
from fangkong.people.scope import get_readable_person, people_query
from fangkong.people.service import read_person
from fangkong.regions.models import Region
from fangkong.regions.service import get_region, subtree_ids

# Who may use a clear ID number or phone (to call a contact, to check a document at a quarantine site).
# Commanders work with figures, not with phone numbers.
IDENTITY_READERS = (Role.investigator, Role.grid_worker, Role.quarantine_staff)
EDITORS = (Role.grid_worker, Role.investigator)


@dataclass(frozen=True, slots=True)
class Identity:
    ref: str
    id_number: str
    phone: str | None


def _is_self(actor: Actor, person: Person) -> bool:
    return actor.person_id is not None and actor.person_id == person.id


def search_people(
    db: Session,
    *,
    actor: Actor,
    keys: Keyring,
    region_code: str | None = None,
    query: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[PersonRead]:
    """Masked rows within the actor's scope. `query` matches a ref, a name prefix, or exactly an ID number or
    phone (through their keyed hashes; nothing is decrypted to search)."""
    stmt = people_query(actor)
    if region_code:
        stmt = stmt.where(Person.region_id.in_(subtree_ids(get_region(db, code=region_code))))
    if query:
        q = query.strip()
        normalized = re.sub(r"[\s-]", "", q).upper()
        conditions = [Person.ref == q, Person.name.startswith(q, autoescape=True)]
        conditions.append(Person.id_hash == pii.id_lookup_hash(keys, normalized))
        with contextlib.suppress(InvalidIdentity):  # not a phone number: no phone condition
            conditions.append(Person.phone_hash == pii.phone_lookup_hash(keys, normalize_phone(q)))
        stmt = stmt.where(or_(*conditions))
    refs = db.execute(stmt.with_only_columns(Person.ref).order_by(Person.ref).limit(limit).offset(offset)).scalars()
    return [read_person(db, keys=keys, ref=ref) for ref in refs]


def read_own_record(db: Session, *, actor: Actor, keys: Keyring) -> PersonRead:
    """A resident's own record (not a "look": nothing is audited)."""
    if actor.person_id is None:
        raise Invalid("this account is not linked to a person record")
    own = db.get_one(Person, actor.person_id)  # a foreign key guarantees it
    return read_full_record(db, actor=actor, keys=keys, ref=own.ref, purpose="")


def read_full_record(db: Session, *, actor: Actor, keys: Keyring, ref: str, purpose: str) -> PersonRead:
    person = get_readable_person(db, actor=actor, ref=ref)
    if not _is_self(actor, person):
        audit.record(
            db, actor=actor, action=AuditAction.person_read, entity_type="person", entity_ref=ref,
            person_id=person.id, purpose=purpose or "view record",
        )  # fmt: skip
    return read_person(db, keys=keys, ref=ref)


def reveal_identity(db: Session, *, actor: Actor, keys: Keyring, ref: str, purpose: str) -> Identity:
    """Clear ID number and phone, for code that must use them (an SMS or telephony adapter dialling a contact),
    never for an API response: those stay masked. Audited, with a purpose, for roles that need it."""
    person = get_readable_person(db, actor=actor, ref=ref)
    if not _is_self(actor, person):
        if not actor.has(*IDENTITY_READERS):
            raise Forbidden("your role may not see clear ID numbers and phones")
        if not purpose.strip():
            raise Invalid("say why you need the clear ID number and phone (purpose)")
        audit.record(
            db, actor=actor, action=AuditAction.person_identity_read, entity_type="person", entity_ref=ref,
            person_id=person.id, purpose=purpose.strip(),
        )  # fmt: skip
    return Identity(ref, pii.reveal_id_number(person, keys=keys), pii.reveal_phone(person, keys=keys))


def update_person(db: Session, *, actor: Actor, keys: Keyring, ref: str, change: PersonUpdate) -> PersonRead:
    """Correct a phone or address (e.g. during grid screening), with a reason that goes into the audit trail."""
    if not actor.has(*EDITORS):
        raise Forbidden("your role may not change people's records")
    person = get_readable_person(db, actor=actor, ref=ref)
    changed = []
    if change.phone is not None:
        try:
            phone = normalize_phone(change.phone) if change.phone else None
        except InvalidIdentity as exc:
            raise Invalid(str(exc)) from None
        new_hash = pii.phone_lookup_hash(keys, phone) if phone else None
        if new_hash != person.phone_hash:
            person.phone_hash = new_hash
            person.phone_enc = pii.encrypt_phone(keys, phone) if phone else None
            changed.append("phone")
    if change.address is not None and change.address != person.address:
        person.address = change.address
        changed.append("address")
    if changed:
        person.updated_at = clock.now()
        audit.record(
            db, actor=actor, action=AuditAction.person_update, entity_type="person", entity_ref=ref,
            person_id=person.id, purpose=change.reason, details="changed: " + ", ".join(changed),
        )  # fmt: skip
    db.flush()
    return read_person(db, keys=keys, ref=ref)


def export_people(
    db: Session, *, actor: Actor, keys: Keyring, region_code: str | None, purpose: str
) -> list[PersonRead]:
    """Masked rows of everyone in scope (optionally one region), each person's export audited."""
    if not purpose.strip():
        raise Invalid("say why you export these records (purpose)")
    rows = search_people(db, actor=actor, keys=keys, region_code=region_code, limit=1_000_000)
    ids = dict(db.execute(select(Person.ref, Person.id).where(Person.ref.in_([r.ref for r in rows]))).all())
    grant = actor.primary
    now = clock.now()
    if rows:
        db.execute(
            insert(AuditEvent),
            [
                {
                    "at": now, "actor_user_id": actor.user_id, "actor_username": actor.username,
                    "actor_role": grant.role.value if grant else "system",
                    "actor_region_code": grant.region_code if grant else None, "channel": actor.channel,
                    "address": actor.address, "action": AuditAction.person_export, "entity_type": "person",
                    "entity_ref": r.ref, "person_id": ids[r.ref], "purpose": purpose.strip()[:255],
                }
                for r in rows
            ],
        )  # fmt: skip
    return rows


def access_log(db: Session, *, actor: Actor, ref: str | None = None) -> Sequence[AccessLogEntry]:
    """Who looked at a person's data: a resident asks about themself; the system operator about anyone."""
    if ref is None:
        if actor.person_id is None:
            raise Invalid("this account is not linked to a person record")
        person_id = actor.person_id
    else:
        person_id = get_readable_person(db, actor=actor, ref=ref).id
    events = audit.events_for_person(db, person_id=person_id, reads_only=True)
    codes = {e.actor_region_code for e in events if e.actor_region_code}
    names = dict(db.execute(select(Region.code, Region.name).where(Region.code.in_(codes))).all())
    return [
        AccessLogEntry(
            at=e.at,
            action=e.action,
            channel=e.channel,
            role=e.actor_role,
            region_code=e.actor_region_code,
            region_name=names.get(e.actor_region_code or ""),
            purpose=e.purpose,
        )
        for e in events
    ]
