"""The domain registry: every part a domain declares exists, and every domain package is declared, so a new
domain that forgets its registry line (or misspells a part) fails here, not in a request."""

from __future__ import annotations

import enum
import importlib
import pkgutil
import tomllib
from pathlib import Path

import pytest
from fastapi import APIRouter
from sqlalchemy.orm import Session

from fangkong import registry
from fangkong.app import create_app
from fangkong.core import causes, facts
from fangkong.core.config import Settings
from fangkong.core.domains import Domain, resolve
from fangkong.core.errors import ConfigurationError
from fangkong.core.runtime import Runtime
from fangkong.web.i18n import gettext

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


def test_the_layer_contract_lists_every_domain_in_registry_order() -> None:
    """The registry and the import-linter layers say the same order, so a new domain cannot be forgotten in one."""
    config = tomllib.loads((PACKAGE.parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    layer_of = {
        name.strip().removeprefix("fangkong."): depth
        for depth, layer in enumerate(reversed(contract["layers"]))
        for name in layer.split("|")
    }
    missing = [d.name for d in registry.DOMAINS if d.name not in layer_of]
    assert missing == []
    depths = [layer_of[d.name] for d in registry.DOMAINS]
    assert depths == sorted(depths), "registry.DOMAINS must list domains from the lowest layer up"


def test_every_cause_kind_of_every_domain_has_words_in_both_languages() -> None:
    """Found, not listed: every StrEnum named *Cause in any registered domain, so a new domain's causes are
    checked without editing this test."""
    for domain in registry.DOMAINS:
        package = importlib.import_module(f"fangkong.{domain.name}")
        for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            importlib.import_module(module.name)
    kinds = [
        kind
        for cls in _subclasses(enum.StrEnum)
        if cls.__name__.endswith("Cause") and cls.__module__.split(".")[1] in {d.name for d in registry.DOMAINS}
        for kind in cls
    ]
    assert len(kinds) >= 10  # the scan found the domains' causes
    words = causes.msgids()
    assert [k.value for k in kinds if k.value not in words] == []
    assert [words[k.value] for k in kinds if gettext("zh", words[k.value]) == words[k.value]] == []


def _subclasses(cls: type) -> list[type]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]
