"""The API fuzzed against its own OpenAPI document (schemathesis), every operation, as several callers.

Schemathesis reads /api/openapi.json from the application and, for each operation, generates requests that fit the
schema and requests that do not (wrong types, out-of-range ids, strings where numbers go, missing fields). Each
answer must be no server error, have a status the operation declares, with the declared content type, and a body
that matches the declared schema: the success models, and for errors {"error": {"code", "message"}}.

The city is the outbreak scene (support/cases.py) with a confirmed case, its contacts, a test result and an appeal;
generated path ids, refs and tokens are now and then swapped for ones that exist, so the requests reach the
services rather than stopping at "not found". Examples per operation: FANGKONG_FUZZ_EXAMPLES (default 6); the
seed: FANGKONG_FUZZ_SEED (fixed, so a run is reproducible; change it to explore).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity, given, seed, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy import select
from typer.testing import CliRunner

from fangkong.app import create_app
from fangkong.auth.audit_models import Channel
from fangkong.cases.models import Case, Contact
from fangkong.core.config import Settings
from fangkong.core.crypto import Keyring
from fangkong.core.db import Database
from fangkong.core.runtime import Runtime, set_runtime
from fangkong.healthcode.appeals import file_appeal
from fangkong.healthcode.door.verify import issue_for
from fangkong.people.models import Person
from fangkong.testing.models import TestOutcome
from fangkong.testing.service import add_result

from .conftest import TEST_SECRET
from .support.cases import confirm_case_and_close_contact, outbreak
from .support.factories import actor_of, add_account, tokens_for
from .support.personas import CHEN, HE, LI_QIANG, MA, WANG, WANG_FANG, WU, ZHANG_WEI, Persona
from .support.web import bearer

EXAMPLES = int(os.environ.get("FANGKONG_FUZZ_EXAMPLES", "6"))
SEED = int(os.environ.get("FANGKONG_FUZZ_SEED", "20220320"))

# Who calls: nobody, 王芳 (a resident), 陈 (the investigator of 站前区), 吴 (a venue operator), 马 (the administrator).
CALLERS: dict[str, Persona | None] = {"anonymous": None, "resident": WANG, "investigator": CHEN, "operator": WU,
                                      "admin": MA}  # fmt: skip

# The checks every answer passes (the requests are generated below, per operation, with Hypothesis' settings).
CONFIG = schemathesis.Config.from_dict({
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
        "response_headers_conformance": {"enabled": True},
    },
})  # fmt: skip


@dataclass(frozen=True)
class Known:
    """What exists in the fuzzed city, by the parameter or field name that names it."""

    values: dict[str, list[Any]]

    def for_name(self, name: str, path: str) -> list[Any]:
        if name == "ref":
            name = "venue_ref" if path.startswith("/api/venues") else "person_ref"
        return self.values.get(name, [])


@pytest.fixture
def runtime(database: Database, keys: Keyring, tmp_path: Path) -> Iterator[Runtime]:
    """The suite's runtime without the periodic jobs: the fuzzed application's lifespan outlives no test, but its
    jobs would share the test's connection with the requests."""
    settings = Settings(database_url=str(database.engine.url), secret_key=TEST_SECRET, import_batch_size=3,
                        code_refresh_interval_seconds=0, checkin_purge_interval_seconds=0)  # fmt: skip
    rt = Runtime(settings=settings, database=database, keys=keys)
    set_runtime(rt)
    try:
        yield rt
    finally:
        set_runtime(None)


@pytest.fixture
def city(runtime: Runtime, keys: Keyring, cli: CliRunner) -> tuple[dict[str, str], Known]:
    """The outbreak with 王芳 confirmed, 李强 her close contact, a result of 李强's from the lab, an open appeal of
    王芳's; the callers' tokens by username, and what exists."""
    tokens = outbreak(runtime, keys)
    confirm_case_and_close_contact(runtime, cli)
    with runtime.database.unit_of_work() as db:
        add_account(db, MA)
        tokens |= tokens_for(db, HE, MA)
        lab = actor_of(db, HE)
        sampled = dt.datetime(2022, 3, 22, 9, tzinfo=dt.UTC)
        result = add_result(db, actor=lab, person_ref=LI_QIANG.ref, sampled_at=sampled, result=TestOutcome.negative)
        appeal = file_appeal(db, actor=actor_of(db, WANG, Channel.api), statement="I was at home on 3-20")
        wang_fang = db.execute(select(Person.id).where(Person.ref == WANG_FANG.ref)).scalar_one()
        token = issue_for(db, keys=keys, person_id=wang_fang).token
        cases = list(db.execute(select(Case.id)).scalars())
        contacts = list(db.execute(select(Contact.id)).scalars())
        known = Known({
            "person_ref": [WANG_FANG.ref, LI_QIANG.ref, ZHANG_WEI.ref],
            "person": [WANG_FANG.ref, LI_QIANG.ref],
            "venue_ref": ["V-LONGSHAN", "V-GANGDU"],
            "code": ["210800", "210802", "210802001001001", "210882"],
            "region": ["210802", "210882"],
            "region_code": ["210802001001", "210882001"],
            "case_id": cases, "case": cases,
            "contact_id": contacts, "dismiss_contact_id": contacts,
            "result_id": [result.id], "withdraw_result_id": [result.id],
            "appeal_id": [appeal.id],
            "token": [token],
            "q": ["王", LI_QIANG.ref],
            "purpose": ["contact tracing"],
            "from": ["2022-03-16T00:00:00+08:00"], "to": ["2022-03-21T08:00:00+08:00"],
        })  # fmt: skip
    return tokens, known


def _swap_known(data: st.DataObject, known: Known, path: str, values: object) -> None:
    """Swap some of `values`' names for things that exist (in place; a body that is not an object stays)."""
    if not isinstance(values, dict):
        return
    for name in list(values):
        options = known.for_name(name, path)
        # Hypothesis starts from, and shrinks towards, False: the simplest request names things that exist.
        if options and not data.draw(st.booleans(), label=f"keep the generated {name}"):
            values[name] = data.draw(st.sampled_from(options), label=name)


_READ: list[Any] = []


def _operations(app: Any) -> list[Any]:
    """The operations of the OpenAPI document as schemathesis reads it; read once, as it is the same for every
    test (the requests name the application they go to)."""
    if not _READ:
        _READ.append(schemathesis.openapi.from_dict(app.openapi(), config=CONFIG))
    return [result.ok() for result in _READ[0].get_all_operations()]


def _fuzz(app: Any, operation: Any, known: Known, headers: dict[str, str]) -> None:
    """Run one operation's examples; an AssertionError names the first failing request, shrunk."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if operation.path_parameters or operation.query or operation.body:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

    @seed(SEED)
    @settings(max_examples=EXAMPLES, derandomize=False, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink],
              verbosity=Verbosity.quiet)  # fmt: skip
    @given(case=st.one_of(strategies), data=st.data())
    def run(case: Any, data: st.DataObject) -> None:
        for values in (case.path_parameters, case.query, case.body):
            _swap_known(data, known, operation.path, values)
        try:
            case.call_and_validate(headers=headers, app=app)
        except BaseExceptionGroup as failures:  # schemathesis' FailureGroup: one per failed check
            found = "\n".join(f"  {f.title}: {f.message}" for f in failures.exceptions)
            raise AssertionError(f"{found}\n  reproduce: {case.as_curl_command(headers)}") from None
        except Exception as error:  # the test client raises what the application did not handle (a 500)
            found = f"  server error: {type(error).__name__}: {error}"
            raise AssertionError(f"{found}\n  reproduce: {case.as_curl_command(headers)}") from error

    run()


@pytest.fixture(params=list(CALLERS))
def caller(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_every_operation_answers_as_its_schema_says(
    runtime: Runtime, city: tuple[dict[str, str], Known], caller: str
) -> None:
    tokens, known = city
    who = CALLERS[caller]
    language = ("zh-CN", "en")[list(CALLERS).index(caller) % 2]  # both catalogs' messages, with their parameters
    headers = {"accept-language": language} | (bearer(tokens[who.username]) if who else {})
    failed = []
    try:
        app = create_app(runtime)
        operations = _operations(app)
        assert len(operations) > 40
        for operation in operations:
            try:
                _fuzz(app, operation, known, headers)
            except Exception as failure:  # an AssertionError, or a group of them when Hypothesis found several
                found = failure.exceptions if isinstance(failure, ExceptionGroup) else [failure]
                failed.append(f"{operation.label} as {caller}:\n" + "\n".join(str(f) for f in found))
    finally:
        shutdown_lifespans()  # the application's lifespan, started by the first request
    assert not failed, "\n\n".join(failed)
