"""Health codes from stored facts: colors follow cases, contacts and tests; every change is recorded; switching
the edition recomputes; a hand change needs a record and a reason. The scene is support/cases.py's."""

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from fangkong.auth.audit_models import AuditAction, AuditEvent
from fangkong.cases.models import ContactEvidence, EvidenceKind
from fangkong.core import clock
from fangkong.core.crypto import Keyring
from fangkong.core.errors import Invalid
from fangkong.core.runtime import Runtime
from fangkong.healthcode.service import review, telling_exposure
from fangkong.policy.editions import Color
from fangkong.testing.service import withdraw_result

from ..support.cases import ISOLATED, ONSET, at, confirm_case_and_close_contact, outbreak
from ..support.factories import actor_of
from ..support.personas import CHEN, HE, SUN
from ..support.web import run

DAY = dt.timedelta(days=1)
# 李强's last exposure to 王芳: 03-20 10:30 Beijing time.
EXPOSED = at("10:30")


@pytest.fixture
def scene(runtime: Runtime, keys: Keyring) -> Iterator[dict[str, str]]:
    tokens = outbreak(runtime, keys)
    with clock.frozen_at(at("12:00", day=21)):  # the day after: 王芳 isolated this morning
        yield tokens


def code(cli: CliRunner, ref: str, *extra: str) -> dict[str, Any]:
    result = run(cli, "code", "show", ref, "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_a_confirmed_case_is_red_and_says_why(cli: CliRunner, scene: dict) -> None:
    assert code(cli, "wang-fang")["color"] == "green"
    run(
        cli, "case", "confirm", "--person", "wang-fang", "--onset", ONSET, "--isolated", ISOLATED, "--as", CHEN.username
    )
    shown = code(cli, "wang-fang", "--lang", "zh")
    assert (shown["color"], shown["policy"], shown["valid_until"]) == ("red", "cn-9", None)
    assert shown["reasons"][0]["code"] == "case_confirmed"
    assert shown["reasons"][0]["text"].startswith("确诊病例")


def test_a_close_contact_is_red_for_seven_days_then_yellow_until_tested(
    runtime: Runtime, cli: CliRunner, scene: dict
) -> None:
    confirm_case_and_close_contact(runtime, cli)
    now = code(cli, "li-qiang")
    assert (now["color"], now["valid_until"]) == ("red", (EXPOSED + 7 * DAY).astimezone(dt.UTC).isoformat())
    assert now["reasons"][0]["code"] == "close_contact_quarantine"
    assert "龙山超市" in now["reasons"][0]["text"]  # the evidence: where and when
    assert code(cli, "li-qiang", "--at", (EXPOSED + 7 * DAY - dt.timedelta(seconds=1)).isoformat())["color"] == "red"
    assert code(cli, "li-qiang", "--at", (EXPOSED + 7 * DAY).isoformat())["color"] == "yellow"
    # Ten days on, without the six negative tests of the 9th edition, the code stays yellow.
    assert code(cli, "li-qiang", "--at", (EXPOSED + 11 * DAY).isoformat())["color"] == "yellow"
    with clock.frozen_at(EXPOSED + 11 * DAY):
        for day in (1, 2, 3, 5, 7, 10):
            sampled = (EXPOSED + day * DAY).isoformat()
            assert run(cli, "test", "add", "--person", "li-qiang", "--sampled", sampled, "--result", "negative",
                       "--as", CHEN.username).exit_code == 0  # fmt: skip
        assert code(cli, "li-qiang")["color"] == "green"


def test_every_change_is_recorded_with_its_cause(runtime: Runtime, cli: CliRunner, scene: dict) -> None:
    contact_id = confirm_case_and_close_contact(runtime, cli)
    result = run(cli, "code", "history", "li-qiang", "--json")
    [change] = json.loads(result.stdout)
    assert (change["from"], change["to"], change["actor"], change["cause"]) == (
        None, "red", CHEN.username, f"contact record #{contact_id} confirmed"
    )  # fmt: skip
    assert (change["cause_kind"], change["cause_params"]) == (
        "cases.contact_confirmed", {"contact": contact_id, "tier": "close"}
    )  # fmt: skip
    chinese = json.loads(run(cli, "code", "history", "li-qiang", "--json", "--lang", "zh").stdout)
    assert chinese[0]["cause"] == f"接触者记录 #{contact_id} 已确认"
    with pytest.raises(DBAPIError, match="append-only"), runtime.database.unit_of_work() as db:
        db.execute(text("UPDATE code_change SET to_color = 'green'"))


def test_a_positive_test_turns_a_person_red_and_its_withdrawal_back(
    runtime: Runtime, cli: CliRunner, scene: dict
) -> None:
    made = run(cli, "test", "add", "--person", "zhang-wei", "--sampled", at("08:00", day=21).isoformat(),
               "--result", "positive", "--ct-n", "24", "--as", HE.username)  # fmt: skip
    assert made.exit_code == 0, made.output
    shown = code(cli, "zhang-wei")
    assert (shown["color"], shown["reasons"][0]["code"]) == ("red", "positive_test")
    with runtime.database.unit_of_work() as db:
        withdraw_result(db, actor=actor_of(db, HE), result_id=int(made.stdout), reason="tube mix-up")
    assert code(cli, "zhang-wei")["color"] == "green"
    changes = json.loads(run(cli, "code", "history", "zhang-wei", "--json").stdout)
    assert [(c["to"], c["actor"]) for c in changes] == [("red", HE.username), ("green", HE.username)]


def test_switching_the_edition_recomputes_codes_and_records_the_changes(
    runtime: Runtime, cli: CliRunner, scene: dict
) -> None:
    confirm_case_and_close_contact(runtime, cli)
    refused = run(cli, "policy", "use", "cn-8", "--as", CHEN.username)  # an investigator, of 站前区 only
    assert "only the command centre changes the policy edition in force" in refused.output
    result = run(cli, "policy", "use", "cn-8", "--as", SUN.username)  # the city's commander
    assert result.exit_code == 0, result.output
    assert "cn-8 in force" in result.output
    # Under the 8th edition a close contact is red for 14 days.
    assert code(cli, "li-qiang")["valid_until"] == (EXPOSED + 14 * DAY).astimezone(dt.UTC).isoformat()
    changes = json.loads(run(cli, "code", "history", "li-qiang", "--json").stdout)
    assert (changes[-1]["policy"], changes[-1]["cause"], changes[-1]["actor"]) == (
        "cn-8",
        "policy edition changed: cn-9 → cn-8",
        SUN.username,
    )
    assert "yes" in run(cli, "policy", "list").output


def test_a_hand_change_needs_a_record_and_a_reason(runtime: Runtime, cli: CliRunner, scene: dict) -> None:
    contact_id = confirm_case_and_close_contact(runtime, cli)
    until = clock.now() + 30 * DAY
    with runtime.database.unit_of_work() as db:
        inv = actor_of(db, CHEN)
        with pytest.raises(Invalid, match="needs a written reason"):
            review(
                db, actor=inv, person_ref="li-qiang", color=Color.red, reason=" ", until=until, contact_id=contact_id
            )
        with pytest.raises(Invalid, match="rests on one record"):
            review(db, actor=inv, person_ref="li-qiang", color=Color.red, reason="protest", until=until)
        with pytest.raises(Invalid, match="is not a confirmed contact of wang-fang"):
            review(db, actor=inv, person_ref="wang-fang", color=Color.red, reason="x", until=until,
                   contact_id=contact_id)  # fmt: skip
        review(db, actor=inv, person_ref="li-qiang", color=Color.yellow, reason="refused the day-7 test",
               until=until, contact_id=contact_id)  # fmt: skip
        events = db.execute(select(AuditEvent.purpose).where(AuditEvent.action == AuditAction.code_review)).all()
        assert [e.purpose for e in events] == ["refused the day-7 test"]
    later = code(cli, "li-qiang", "--at", (EXPOSED + 12 * DAY).isoformat())
    assert "review_decision" in [r["code"] for r in later["reasons"]]


def test_the_periodic_job_moves_codes_on_when_their_phase_ends(runtime: Runtime, cli: CliRunner, scene: dict) -> None:
    from fangkong.healthcode.jobs import refresh_due

    confirm_case_and_close_contact(runtime, cli)
    assert refresh_due(runtime) == 0  # nothing due yet: 李强 is red until 03-27 10:30
    with clock.frozen_at(EXPOSED + 7 * DAY):
        assert refresh_due(runtime) == 1
        changes = json.loads(run(cli, "code", "history", "li-qiang", "--json").stdout)
    assert [(c["to"], c["actor"], c["cause"]) for c in changes][-1] == ("yellow", "rule", "a period ended")


def test_a_contacts_reason_names_the_longest_exposure_of_the_last_day_not_a_moment_on_the_bus() -> None:
    def seen(venue: str, start: str, end: str, day: int = 20) -> ContactEvidence:
        return ContactEvidence(kind=EvidenceKind.checkin, venue_name=venue, start=at(start, day=day),
                               end=at(end, day=day))  # fmt: skip

    evidence = [seen("镁都机械厂", "08:00", "17:00", day=19), seen("201路公交", "17:10", "17:40", day=19),
                seen("镁都机械厂", "08:03", "16:49"), seen("201路公交", "17:27", "17:28")]  # fmt: skip
    shown = telling_exposure(evidence)
    assert shown is not None
    assert (shown.venue, shown.start, shown.end) == ("镁都机械厂", at("08:03", day=20), at("16:49", day=20))
    assert telling_exposure([ContactEvidence(kind=EvidenceKind.household, note="same household")]) is None
