"""The edition in force and switching it. The edition in force is the `policy_edition` row of `system_setting`, the
9th edition when there is none; each edition's values come from its file (`policy/editions_data/*.toml`, each
value citing its source). Tracing reads its look-back, minimum overlap and secondary-contact rule from here, health
codes the whole edition.

Putting another edition in force is a fact announced downward (`EditionChanged`): health codes subscribe and
recompute every code under it, in the same transaction, so no code is ever evaluated under an edition that was not
committed.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.auth import audit
from fangkong.auth.actor import Actor
from fangkong.auth.audit_models import AuditAction
from fangkong.auth.models import Role
from fangkong.core import causes, facts
from fangkong.core.errors import Forbidden, Invalid
from fangkong.core.models import SystemSetting
from fangkong.policy.editions import DEFAULT_EDITION, EDITIONS, Policy, load_policy

POLICY_SETTING_KEY = "policy_edition"


class PolicyCause(enum.StrEnum):
    """Causes this package announces (stored by value in change records, worded by core.causes)."""

    edition_changed = "policy.edition_changed"  # params: old, new


causes.describe({PolicyCause.edition_changed: "policy edition changed: %(old)s → %(new)s"})


@dataclass(frozen=True, slots=True)
class EditionChanged:
    """Another edition is in force. Subscribers recompute what depends on it and say how many things changed."""

    previous: str
    policy: Policy
    cause: facts.Cause


@dataclass(frozen=True, slots=True)
class EditionReport:
    """What a subscriber redid under the new edition: e.g. ("codes", 1200 recomputed, 37 changed color)."""

    what: str
    recomputed: int
    changed: int


@dataclass(frozen=True, slots=True)
class TracingPolicy:
    name: str
    lookback: dt.timedelta  # the infectious window starts this long before onset or first positive sampling
    min_overlap: dt.timedelta  # co-presence shorter than this is not proposed
    secondary_contacts: bool  # whether close contacts' own contacts (次密接) are traced


def edition_name_in_force(db: Session) -> str:
    setting = db.get(SystemSetting, POLICY_SETTING_KEY)
    return setting.value if setting is not None else DEFAULT_EDITION


def edition_in_force(db: Session) -> Policy:
    name = edition_name_in_force(db)
    if name not in EDITIONS:
        raise Invalid("the policy edition in force, %(name)s, is unknown; choose one of %(names)s",
                      name=name, names=", ".join(EDITIONS))  # fmt: skip
    return load_policy(name)


def policy_in_force(db: Session) -> TracingPolicy:
    policy = edition_in_force(db)
    rules = policy.tracing
    return TracingPolicy(policy.name, rules.lookback, rules.min_overlap, rules.secondary_contacts)


def use_edition(db: Session, *, actor: Actor, name: str) -> list[EditionReport]:
    """Put an edition in force (the command centre's decision, audited) and announce it; returns what each
    subscriber reported (health codes: codes recomputed and codes whose color changed)."""
    if not actor.has(Role.commander, Role.admin):
        raise Forbidden("only the command centre changes the policy edition in force")
    if name not in EDITIONS:
        raise Invalid("no policy edition %(name)s; choose one of %(names)s", name=name, names=", ".join(EDITIONS))
    setting = db.get(SystemSetting, POLICY_SETTING_KEY)
    previous = setting.value if setting is not None else DEFAULT_EDITION
    if setting is None:
        db.add(SystemSetting(key=POLICY_SETTING_KEY, value=name))
    else:
        setting.value = name
    db.flush()
    audit.record(db, actor=actor, action=AuditAction.policy_change, entity_type="policy", entity_ref=name,
                 purpose=f"{previous} → {name}")  # fmt: skip
    cause = facts.Cause(PolicyCause.edition_changed, {"old": previous, "new": name}, actor.username, actor.user_id)
    return facts.announce(db, EditionChanged(previous, load_policy(name), cause))
