"""The domains of this installation, lowest layer first (the order of the import-linter contracts in
pyproject.toml). A new domain adds one line here; everything else reads this list: the application's routes
(`app.py`), the command line (`cli.py`), the server's periodic jobs, the fact subscriptions and the tables that
migrations and tests see."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from fangkong.auth.domain import DOMAIN as AUTH
from fangkong.cases.domain import DOMAIN as CASES
from fangkong.core.domains import Domain, Job, resolve
from fangkong.healthcode.domain import DOMAIN as HEALTHCODE
from fangkong.people.domain import DOMAIN as PEOPLE
from fangkong.policy.domain import DOMAIN as POLICY
from fangkong.regions.domain import DOMAIN as REGIONS
from fangkong.testing.domain import DOMAIN as TESTING
from fangkong.tracing.domain import DOMAIN as TRACING
from fangkong.venues.domain import DOMAIN as VENUES

DOMAINS: tuple[Domain, ...] = (
    REGIONS,
    AUTH,
    POLICY,
    PEOPLE,
    VENUES,
    TRACING,
    CASES,
    TESTING,
    HEALTHCODE,
)

_installed = False


def import_models() -> None:
    """Every domain's tables in Base.metadata (migrations, tests) and its mappers configured."""
    importlib.import_module("fangkong.core.models")
    for domain in DOMAINS:
        for module in domain.models:
            importlib.import_module(module)


def install() -> None:
    """Once per process, before any fact is announced: the models, and each domain's fact subscriptions."""
    global _installed
    if _installed:
        return
    import_models()
    for domain in DOMAINS:
        if domain.subscriptions:
            resolve(domain.subscriptions)()
    _installed = True


def jobs() -> Iterator[Job]:
    for domain in DOMAINS:
        yield from domain.jobs
