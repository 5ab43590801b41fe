"""Facts flow down: a domain announces that something changed, the domains that depend on it react.

A domain that changes a fact about a person (a case reported, a contact confirmed, a test result entered) does not
call the domains that read that fact (health codes today; quarantine proposals, the command centre's figures and
notifications later): it announces a fact here, and they subscribe. So cases, contacts and testing never import
health codes, and a new domain that changes codes only announces.

Delivery is synchronous and inside the caller's transaction: a color and the fact it rests on are committed
together or not at all, and a subscriber's error rolls the whole unit of work back. Subscriptions are made by the
domain registry (`fangkong.registry`) when the application, the CLI or the tests start; announcing a fact that
nobody has subscribed to is a configuration error, never a silent no-op (a fact that changes no code would be a
color that is wrong without anyone knowing).

A cause is structure, not words: a kind (a member of the announcing domain's StrEnum) and its parameters, which
the reader's page words in the reader's language (see `fangkong.core.causes`).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from fangkong.core.errors import ConfigurationError

CauseParam = str | int | float | None


@dataclass(frozen=True, slots=True)
class Cause:
    """Who or what changed a fact, and which change it was: `kind` is a member of the announcing domain's cause
    enum (stored by its value), `params` what a reader needs to name the change (ids, a venue's name, editions)."""

    kind: enum.StrEnum
    params: Mapping[str, CauseParam] = field(default_factory=dict)
    actor: str = "rule"
    actor_user_id: int | None = None


@dataclass(frozen=True, slots=True)
class PersonFactsChanged:
    """Something that decides a person's status changed: a case, a contact decision, a test result, a fever."""

    person_ids: tuple[int, ...]
    cause: Cause


F = TypeVar("F")
Handler = Callable[[Session, Any], Any]

_subscribers: dict[type, list[Handler]] = defaultdict(list)


def subscribe(fact_type: type[F], handler: Callable[[Session, F], Any]) -> None:
    """Call `handler(db, fact)` for every fact of this type announced from now on. Idempotent per handler."""
    handlers = _subscribers[fact_type]
    if handler not in handlers:
        handlers.append(handler)


def announce(db: Session, fact: object) -> list[Any]:
    """Deliver `fact` to its subscribers, in subscription order, in the caller's transaction; their results."""
    handlers = _subscribers.get(type(fact))
    if not handlers:
        raise ConfigurationError(
            "nobody subscribes to %(fact)s: the domain registry was not installed (fangkong.registry.install)",
            fact=type(fact).__name__,
        )
    return [handler(db, fact) for handler in handlers]


def person_facts_changed(db: Session, *, person_ids: Iterable[int], cause: Cause) -> None:
    """Announce that these people's facts changed, for this cause."""
    ids = tuple(sorted(set(person_ids)))
    if ids:
        announce(db, PersonFactsChanged(ids, cause))


def subscribed(fact_type: type) -> bool:
    return bool(_subscribers.get(fact_type))
