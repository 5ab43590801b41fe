"""The tracing values of the policy edition in force: the infectious window's look-back, the minimum co-presence,
and whether secondary close contacts are identified at all. They come from the edition's policy file
(`fangkong/healthcode/policies/*.toml`, each value citing its source); the edition in force is the
`policy_edition` row of `system_setting`, the 9th edition when there is none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.core.errors import Invalid
from fangkong.core.models import SystemSetting
from fangkong.healthcode.policy import DEFAULT_EDITION, EDITIONS, Policy, load_policy

POLICY_SETTING_KEY = "policy_edition"


@dataclass(frozen=True, slots=True)
class TracingPolicy:
    name: str
    lookback: dt.timedelta  # the infectious window starts this long before onset or first positive sampling
    min_overlap: dt.timedelta  # co-presence shorter than this is not proposed
    secondary_contacts: bool  # whether close contacts' own contacts (次密接) are traced


def edition_in_force(db: Session) -> Policy:
    setting = db.get(SystemSetting, POLICY_SETTING_KEY)
    name = setting.value if setting is not None else DEFAULT_EDITION
    if name not in EDITIONS:
        raise Invalid("the policy edition in force, %(name)s, is unknown; choose one of %(names)s",
                      name=name, names=", ".join(EDITIONS))  # fmt: skip
    return load_policy(name)


def policy_in_force(db: Session) -> TracingPolicy:
    policy = edition_in_force(db)
    rules = policy.tracing
    return TracingPolicy(policy.name, rules.lookback, rules.min_overlap, rules.secondary_contacts)
