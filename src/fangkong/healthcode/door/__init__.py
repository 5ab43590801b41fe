"""The door of a venue (验码): issuing the live code, and verifying it where people enter.

- `decision.py`, pure: the entry rules by venue kind and the decision for one scan (`decide_scan`);
- `verify.py`: issuing tokens, and verification one scan at a time (pages, the FastAPI route), whose steps after
  finding the code (`verify_holder`) the grouped path shares;
- `grouped.py`: the door devices' verifications, group-committed (core/group_commit.py);
- `fast_route.py`: their route, a plain ASGI endpoint matched before all others;
- `pages.py`: the door page for the venue's operator.

The names most callers need are here.
"""

from fangkong.healthcode.door.decision import (
    ALLOWED,
    ENTRY_RULES,
    FEVER_CELSIUS,
    NEEDS_NEGATIVE_TEST,
    REFUSED_COLOR,
    Decision,
    Entry,
    EntryRule,
    check_temperature,
    decide,
    decide_scan,
    mask_name,
)
from fangkong.healthcode.door.verify import (
    REFUSALS,
    CodeRefused,
    IssuedCode,
    Verification,
    issue_for,
    public_key,
    read_code,
    record_fever,
    verify_at_door,
)

__all__ = [
    "ALLOWED",
    "ENTRY_RULES",
    "FEVER_CELSIUS",
    "NEEDS_NEGATIVE_TEST",
    "REFUSALS",
    "REFUSED_COLOR",
    "CodeRefused",
    "Decision",
    "Entry",
    "EntryRule",
    "IssuedCode",
    "Verification",
    "check_temperature",
    "decide",
    "decide_scan",
    "issue_for",
    "mask_name",
    "public_key",
    "read_code",
    "record_fever",
    "verify_at_door",
]
