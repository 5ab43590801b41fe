"""What health codes hear from the domains below them (through core.facts): a person's facts changed, or another
policy edition came into force. Either way the codes are recomputed in the announcer's transaction."""

from __future__ import annotations

from fangkong.core import facts
from fangkong.healthcode.service import on_edition_changed, on_person_facts_changed
from fangkong.policy.service import EditionChanged


def subscribe() -> None:
    facts.subscribe(facts.PersonFactsChanged, on_person_facts_changed)
    facts.subscribe(EditionChanged, on_edition_changed)
