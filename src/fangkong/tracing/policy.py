"""The tracing values of each edition of the national protocol: the infectious window's look-back, the minimum
co-presence, and whether secondary close contacts are identified at all.

Kept here until the health-code issue brings the policy files; the edition in force is an installation setting
(`system_setting` key `policy_edition`), the 9th edition unless changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fangkong.core.errors import Invalid
from fangkong.core.models import SystemSetting

POLICY_SETTING_KEY = "policy_edition"
DEFAULT_EDITION = "cn-9"


@dataclass(frozen=True, slots=True)
class TracingPolicy:
    name: str
    lookback: dt.timedelta  # the infectious window starts this long before onset or first positive sampling
    min_overlap: dt.timedelta  # co-presence shorter than this is not proposed
    secondary_contacts: bool  # whether close contacts' own contacts (次密接) are traced


# Minimum overlap: 10 minutes for every edition. The protocols define a close contact by unprotected proximity,
# not by minutes; 10 minutes at one venue is fangkong's default for proposing a companion, for an investigator
# to decide (DOMAIN.md, "tracing").
_TEN_MINUTES = dt.timedelta(minutes=10)

EDITIONS: dict[str, TracingPolicy] = {
    # 8th edition (2021-05): window from onset (or first positive sampling) − 2 days (DOMAIN.md, policy table).
    "cn-8": TracingPolicy("cn-8", dt.timedelta(days=2), _TEN_MINUTES, secondary_contacts=True),
    # 9th edition (2022-06-28): window from onset − 4 days (reported by 163.com and kankanews.com).
    "cn-9": TracingPolicy("cn-9", dt.timedelta(days=4), _TEN_MINUTES, secondary_contacts=True),
    # "20 measures" (2022-11-11): secondary close contacts are no longer identified; the window is the 9th
    # edition's, which the measures did not change as reported.
    "cn-20m": TracingPolicy("cn-20m", dt.timedelta(days=4), _TEN_MINUTES, secondary_contacts=False),
}


def policy_in_force(db: Session) -> TracingPolicy:
    setting = db.get(SystemSetting, POLICY_SETTING_KEY)
    name = setting.value if setting is not None else DEFAULT_EDITION
    try:
        return EDITIONS[name]
    except KeyError:
        raise Invalid(
            "the policy edition in force, %(name)s, is unknown; choose one of %(names)s",
            name=name,
            names=", ".join(EDITIONS),
        ) from None
