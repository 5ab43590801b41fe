"""The domain registry: every part a domain declares exists, and every domain package is declared, so a new
domain that forgets its registry line (or misspells a part) fails here, not in a request."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter
from sqlalchemy.orm import Session

from fangkong import registry
from fangkong.app import create_app
from fangkong.core import facts
from fangkong.core.config import Settings
from fangkong.core.domains import Domain, resolve
from fangkong.core.errors import ConfigurationError
from fangkong.core.runtime import Runtime

PACKAGE = Path(registry.__file__).parent
NOT_DOMAINS = {"core", "web", "demo", "migrations", "__pycache__"}


@pytest.mark.parametrize("domain", registry.DOMAINS, ids=lambda d: d.name)
def test_every_declared_part_of_a_domain_exists(domain: Domain) -> None:
    for router in (*domain.api, *domain.first_api, *domain.pages):
        assert isinstance(resolve(router), APIRouter), router
    for name in (domain.cli, domain.subscriptions, domain.setup, *domain.first_routes):
        if name:
            assert callable(resolve(name)), name
    for job in domain.jobs:
        assert callable(resolve(job.run)), job.run
        assert job.interval in Settings.model_fields, f"{job.name}: no setting {job.interval}"
        assert "%d" in job.done


def test_every_domain_package_is_declared_once_in_layer_order() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} - NOT_DOMAINS
    names = [d.name for d in registry.DOMAINS]
    assert sorted(names) == sorted(packages)
    assert len(set(names)) == len(names)


def test_every_table_with_models_is_declared() -> None:
    declared = {module for d in registry.DOMAINS for module in d.models}
    on_disk = {f"fangkong.{p.parent.name}.{p.stem}" for p in PACKAGE.glob("*/*models.py")} - {"fangkong.core.models"}
    assert on_disk == declared


def test_the_application_mounts_every_declared_route(runtime: Runtime) -> None:
    app = create_app(runtime)
    for domain in registry.DOMAINS:
        for name in (*domain.api, *domain.first_api, *domain.pages):
            prefix = "" if name in domain.pages else "/api"
            for route in resolve(name).routes:
                params = dict.fromkeys(route.param_convertors, "1")
                assert app.url_path_for(route.name, **params).startswith(prefix), (name, route.path)


def test_a_fact_nobody_subscribes_to_is_a_configuration_error(db: Session) -> None:
    class Unheard:
        pass

    with pytest.raises(ConfigurationError):
        facts.announce(db, Unheard())


def test_health_codes_hear_of_changed_facts() -> None:
    assert facts.subscribed(facts.PersonFactsChanged)
