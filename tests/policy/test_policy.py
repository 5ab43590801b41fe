"""Policy files: each edition loads with DOMAIN.md's values, and a broken file names itself and the key."""

from __future__ import annotations

from datetime import date, timedelta
from importlib import resources

import pytest
from sqlalchemy.orm import Session

from fangkong.policy.editions import (
    DEFAULT_EDITION,
    EDITIONS,
    Care,
    Color,
    Phase,
    PolicyError,
    RiskLevel,
    Tier,
    load_policy,
    parse_policy,
)

DAYS = timedelta(days=1)
CN_9 = resources.files("fangkong.policy").joinpath("editions_data", "cn-9.toml").read_text(encoding="utf-8")


def red(days: int, care: Care = Care.centralized_quarantine) -> Phase:
    return Phase(care=care, color=Color.red, duration=days * DAYS)


def yellow(days: int, care: Care = Care.home_monitoring) -> Phase:
    return Phase(care=care, color=Color.yellow, duration=days * DAYS)


def test_the_9th_edition_is_the_default() -> None:
    assert DEFAULT_EDITION == "cn-9"
    assert DEFAULT_EDITION in EDITIONS


def test_the_policy_folder_holds_exactly_the_editions() -> None:
    folder = resources.files("fangkong.policy").joinpath("editions_data")
    assert sorted(entry.name for entry in folder.iterdir() if entry.name.endswith(".toml")) == sorted(
        f"{edition}.toml" for edition in EDITIONS
    )


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_edition_loads_under_its_own_name(edition: str) -> None:
    policy = load_policy(edition)
    assert policy.name == edition
    assert policy.title.zh
    assert policy.title.en
    assert load_policy(edition) is policy  # cached: policies are immutable


# Rows of DOMAIN.md's "Policy editions" table (and its glossary for the look-backs).
EXPECTED = {
    "cn-8": {
        "effective": date(2021, 5, 11),
        "lookback": 2 * DAYS,
        "secondary_contacts": True,
        "close": (red(14), yellow(7)),
        "secondary": (red(7),),
        "release_min_ct": None,
        "monitoring": 14 * DAYS,
    },
    "cn-9": {
        "effective": date(2022, 6, 28),
        "lookback": 4 * DAYS,
        "secondary_contacts": True,
        "close": (red(7), yellow(3)),
        "secondary": (red(7, Care.home_quarantine),),
        "release_min_ct": 35.0,
        "monitoring": 7 * DAYS,
    },
    "cn-20m": {
        "effective": date(2022, 11, 11),
        "lookback": 4 * DAYS,
        "secondary_contacts": False,
        "close": (red(5), yellow(3, Care.home_quarantine)),
        "secondary": None,
        "release_min_ct": 35.0,
        "monitoring": 7 * DAYS,
    },
}


@pytest.mark.parametrize("edition", EDITIONS)
def test_each_edition_has_domain_md_values(edition: str) -> None:
    expected = EXPECTED[edition]
    policy = load_policy(edition)
    secondary = policy.secondary.phases if policy.secondary is not None else None
    assert {
        "effective": policy.effective,
        "lookback": policy.tracing.lookback,
        "secondary_contacts": policy.tracing.secondary_contacts,
        "close": policy.close.phases,
        "secondary": secondary,
        "release_min_ct": policy.case.release_min_ct,
        "monitoring": policy.case.monitoring,
    } == expected


@pytest.mark.parametrize("edition", EDITIONS)
def test_the_rules_every_edition_shares(edition: str) -> None:
    policy = load_policy(edition)
    assert policy.tracing.min_overlap == timedelta(minutes=10)
    assert (policy.case.color, policy.case.monitoring_color, policy.positive_test_color) == (
        Color.red,
        Color.yellow,
        Color.red,
    )
    assert (policy.case.release_tests, policy.case.release_spacing) == (2, timedelta(hours=24))
    companion = policy.companion
    assert (companion.phases, companion.negative_tests, companion.min_spacing, companion.hold_color) == (
        (),
        2,
        timedelta(hours=24),
        Color.yellow,
    )
    assert (policy.close.negative_tests, policy.close.hold_color) == (6, Color.yellow)
    assert policy.risk_area.levels == {RiskLevel.high, RiskLevel.medium}
    assert (policy.risk_area.window, policy.risk_area.color) == (7 * DAYS, Color.yellow)
    assert (policy.fever.min_celsius, policy.fever.color) == (37.3, Color.yellow)
    assert policy.checkin_retention == 28 * DAYS
    assert policy.tier(Tier.close) is policy.close
    assert policy.tier(Tier.secondary) is policy.secondary


@pytest.mark.parametrize(
    ("edition", "lookback_days", "secondary"), [("cn-8", 2, True), ("cn-9", 4, True), ("cn-20m", 4, False)]
)
def test_tracing_reads_its_values_from_the_edition_in_force(
    db: Session, edition: str, lookback_days: int, secondary: bool
) -> None:
    from fangkong.core.models import SystemSetting
    from fangkong.policy.service import policy_in_force

    db.add(SystemSetting(key="policy_edition", value=edition))
    db.flush()
    tracing = policy_in_force(db)
    assert (tracing.name, tracing.lookback, tracing.min_overlap, tracing.secondary_contacts) == (
        edition,
        lookback_days * DAYS,
        timedelta(minutes=10),
        secondary,
    )


def test_an_unknown_edition_names_the_ones_there_are() -> None:
    with pytest.raises(PolicyError, match="unknown policy edition 'cn-10'; choose one of cn-8, cn-9, cn-20m"):
        load_policy("cn-10")


def test_the_name_inside_must_match_the_file() -> None:
    with pytest.raises(PolicyError, match=r"^cn-8\.toml: name: 'cn-9' does not match"):
        parse_policy(CN_9, source="cn-8.toml", expected_name="cn-8")


def broken(old: str, new: str) -> str:
    assert old in CN_9, old
    return CN_9.replace(old, new, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(broken("lookback_days = 4\n", ""), "tracing.lookback_days: missing", id="missing"),
        pytest.param(
            broken("lookback_days", "lookback_dayz"),
            "tracing.lookback_days: missing; is 'lookback_dayz' a misspelling?",
            id="misspelt",
        ),
        pytest.param(broken("[fever]\n", "[fever]\nextra = 1\n"), "fever.extra: unknown key", id="unknown"),
        pytest.param(
            broken("\ndays = 7\n", "\ndays = -3\n"), "contacts.close.phases[0].days: expected a whole", id="<1"
        ),
        pytest.param(broken("days = 3\n", "days = true\n"), "contacts.close.phases[1].days: expected", id="bool"),
        pytest.param(broken('color = "red"', 'color = "purple"'), "case.color: expected one of green", id="color"),
        pytest.param(broken("care = ", "kind = "), "contacts.close.phases[0].care: missing", id="phase key"),
        pytest.param(broken("min_ct = 35", 'min_ct = "35"'), "case.release.min_ct: expected a number", id="text"),
        pytest.param(broken("2022-06-28", "2022-06-28T00:00:00"), "effective: expected a date", id="datetime"),
        pytest.param(broken('levels = ["high", "medium"]', "levels = []"), "risk_area.levels: expected", id="levels"),
        pytest.param(broken('levels = ["high"', 'levels = ["low"'), "risk_area.levels: expected one of", id="low"),
        pytest.param(broken("[fever]", "[fevers]"), "fever: missing", id="table"),
        pytest.param(
            broken('en = "COVID-19 prevention and control protocol, 9th edition"', 'en = " "'),
            "title.en: expected non-empty text",
            id="title",
        ),
        pytest.param(
            broken("secondary_contacts = true", "secondary_contacts = false"),
            "contacts.secondary: present, but tracing.secondary_contacts is false",
            id="secondary disagrees",
        ),
        pytest.param(
            broken("negative_tests = 3", "negative_tests = 0"),
            "contacts.secondary.hold_color: given, but no negative tests are needed",
            id="hold without tests",
        ),
        pytest.param(
            broken("negative_tests = 2\nmin_spacing_hours = 24\n", "negative_tests = 0\nmin_spacing_hours = 24\n"),
            "contacts.companion.",
            id="companion colors nothing",
        ),
        pytest.param(broken("name =", "name ="[:-1]), "not valid TOML", id="syntax"),
    ],
)
def test_a_broken_file_names_itself_and_the_key(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source="broken.toml")
    assert str(caught.value).startswith(f"broken.toml: {message}")


def test_an_edition_that_identifies_secondary_contacts_needs_their_rules() -> None:
    start = CN_9.index("[contacts.secondary]")
    end = CN_9.index("[contacts.companion]")
    with pytest.raises(PolicyError, match=r"^x\.toml: contacts\.secondary: missing, but tracing\.secondary_contacts"):
        parse_policy(CN_9[:start] + CN_9[end:], source="x.toml")
