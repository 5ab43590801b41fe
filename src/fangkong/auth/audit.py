"""Writing and reading the audit trail. Services call `record` in the same transaction as the change, so a
change without its audit row cannot be committed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.core import clock


def record(
    db: Session,
    *,
    actor: Actor,
    action: AuditAction,
    entity_type: str,
    entity_ref: str,
    person_id: int | None = None,
    purpose: str = "",
    details: str | None = None,
) -> AuditEvent:
    grant = actor.primary
    event = AuditEvent(
        at=clock.now(),
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        actor_role=grant.role.value if grant else ("system" if actor.is_system else None),
        actor_region_code=grant.region_code if grant else None,
        channel=actor.channel,
        address=actor.address,
        action=action,
        entity_type=entity_type,
        entity_ref=entity_ref,
        person_id=person_id,
        purpose=purpose[:255],
        details=details,
    )
    db.add(event)
    db.flush()
    return event


# What "who looked at my data" shows: every read of a person's record, health code, case or movements.
READ_ACTIONS = (
    AuditAction.person_read,
    AuditAction.person_identity_read,
    AuditAction.person_export,
    AuditAction.code_read,
    AuditAction.case_read,
    AuditAction.contact_trace,
)


def events_for_person(db: Session, *, person_id: int, reads_only: bool = False) -> Sequence[AuditEvent]:
    """Newest first. With reads_only, what a resident's "who looked at my data" page shows."""
    stmt = select(AuditEvent).where(AuditEvent.person_id == person_id)
    if reads_only:
        stmt = stmt.where(AuditEvent.action.in_(READ_ACTIONS))
    return db.execute(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).scalars().all()
