"""The health-code engine: every edition's timelines at their exact boundaries, then properties on random facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fangkong.healthcode.engine import (
    CaseFacts,
    CaseOutcome,
    Classification,
    CodeStatus,
    Color,
    ContactFacts,
    Evidence,
    Facts,
    Fever,
    LabResult,
    LabTest,
    ReasonCode,
    Review,
    RiskAreaStay,
    RiskLevel,
    Tier,
    evaluate,
)
from fangkong.policy.editions import EDITIONS, load_policy

CST = timezone(timedelta(hours=8))
T0 = datetime(2022, 7, 1, 9, 0, tzinfo=CST)  # the last exposure, unless a test says otherwise
SECOND = timedelta(seconds=1)


def day(days: float, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def negative(at: datetime) -> LabTest:
    return LabTest(sampled_at=at, result=LabResult.negative)


def positive(at: datetime, ct_n: float | None = None, ct_orf: float | None = None) -> LabTest:
    return LabTest(sampled_at=at, result=LabResult.positive, ct_n=ct_n, ct_orf=ct_orf)


def contact(tier: Tier, exposure: datetime = T0, **kwargs: Evidence) -> ContactFacts:
    return ContactFacts(tier=tier, last_exposure_at=exposure, **kwargs)


def evaluate_at(facts: Facts, edition: str, now: datetime) -> CodeStatus:
    return evaluate(facts, load_policy(edition), now)


def codes(status: CodeStatus) -> list[str]:
    return [reason.code for reason in status.reasons]


def check_timeline(facts: Facts, edition: str, rows: list[tuple[datetime, Color, datetime | None, str]]) -> None:
    """Each row: at this instant, this color, valid until then, with this first reason."""
    for now, color, valid_until, code in rows:
        status = evaluate_at(facts, edition, now)
        assert (status.color, status.valid_until, status.reasons[0].code) == (color, valid_until, code), now


# Six negatives every 12 hours from the exposure: enough for any edition's close contacts by day 3.
SIX_NEGATIVES = tuple(negative(day(0, 12 * i)) for i in range(1, 7))

# --- Close contacts ---------------------------------------------------------------------------------------

CLOSE = [
    pytest.param("cn-8", 14, 7, ReasonCode.close_contact_home_monitoring, id="cn-8 14+7"),
    pytest.param("cn-9", 7, 3, ReasonCode.close_contact_home_monitoring, id="cn-9 7+3"),
    pytest.param("cn-20m", 5, 3, ReasonCode.close_contact_quarantine, id="cn-20m 5+3"),
]


@pytest.mark.parametrize(("edition", "red_days", "yellow_days", "yellow_code"), CLOSE)
def test_a_close_contact_is_red_then_yellow_then_green_once_the_tests_are_negative(
    edition: str, red_days: int, yellow_days: int, yellow_code: str
) -> None:
    red_end, yellow_end = day(red_days), day(red_days + yellow_days)
    check_timeline(
        Facts(contacts=(contact(Tier.close),), tests=SIX_NEGATIVES),
        edition,
        [
            (T0, Color.red, red_end, ReasonCode.close_contact_quarantine),
            (red_end - SECOND, Color.red, red_end, ReasonCode.close_contact_quarantine),
            (red_end, Color.yellow, yellow_end, yellow_code),
            (yellow_end - SECOND, Color.yellow, yellow_end, yellow_code),
            (yellow_end, Color.green, None, ReasonCode.all_clear),
        ],
    )


@pytest.mark.parametrize(("edition", "red_days", "yellow_days", "yellow_code"), CLOSE)
def test_a_close_contact_without_the_tests_stays_yellow_with_no_end(
    edition: str, red_days: int, yellow_days: int, yellow_code: str
) -> None:
    facts = Facts(contacts=(contact(Tier.close),), tests=SIX_NEGATIVES[:5])
    # The color does not change when home monitoring ends, so nothing time-driven is pending.
    assert evaluate_at(facts, edition, day(red_days)).valid_until is None
    status = evaluate_at(facts, edition, day(red_days + yellow_days))
    assert (status.color, status.valid_until, codes(status)) == (
        Color.yellow,
        None,
        [ReasonCode.close_contact_tests_needed],
    )
    assert status.reasons[0].params["tests_needed"] == 1


def test_under_cn_9_the_sixth_negative_turns_a_close_contact_green_when_it_is_sampled() -> None:
    sixth = day(10, 1)
    facts = Facts(contacts=(contact(Tier.close),), tests=(*SIX_NEGATIVES[:5], negative(sixth)))
    assert evaluate_at(facts, "cn-9", sixth - SECOND).color == Color.yellow
    assert evaluate_at(facts, "cn-9", sixth).color == Color.green


def test_tests_sampled_before_or_at_the_last_exposure_do_not_count() -> None:
    before = tuple(negative(day(-1, i)) for i in range(6))
    facts = Facts(contacts=(contact(Tier.close),), tests=(*before, negative(T0)))
    status = evaluate_at(facts, "cn-9", day(10))
    assert (status.color, codes(status)) == (Color.yellow, [ReasonCode.close_contact_tests_needed])
    assert status.reasons[0].params["tests_needed"] == 6


def test_the_latest_exposure_of_several_governs() -> None:
    facts = Facts(contacts=(contact(Tier.close, day(3)), contact(Tier.close, T0)), tests=SIX_NEGATIVES)
    # Tests after the first exposure but before the second do not count for the later one.
    status = evaluate_at(facts, "cn-9", day(9))
    assert (status.color, status.valid_until) == (Color.red, day(10))
    assert status.reasons[0].params["last_exposure_at"] == day(3).astimezone(UTC).isoformat()


def test_a_close_contact_phase_reason_says_until_when_and_how_many_tests_remain() -> None:
    facts = Facts(contacts=(contact(Tier.close),), tests=SIX_NEGATIVES[:2])
    [reason] = evaluate_at(facts, "cn-9", day(2)).reasons
    assert reason.params == {
        "last_exposure_at": "2022-07-01T01:00:00+00:00",
        "until": "2022-07-08T01:00:00+00:00",
        "setting": "centralized",
        "tests_needed": 4,
        "min_spacing_hours": 0,
    }
    assert reason.color == Color.red


# --- Secondary contacts -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("edition", "setting"), [("cn-8", "centralized"), ("cn-9", "home")])
def test_a_secondary_contact_is_red_for_7_days_then_green_with_three_negatives(edition: str, setting: str) -> None:
    facts = Facts(contacts=(contact(Tier.secondary),), tests=SIX_NEGATIVES[:3])
    check_timeline(
        facts,
        edition,
        [
            (T0, Color.red, day(7), ReasonCode.secondary_contact_quarantine),
            (day(7) - SECOND, Color.red, day(7), ReasonCode.secondary_contact_quarantine),
            (day(7), Color.green, None, ReasonCode.all_clear),
        ],
    )
    assert evaluate_at(facts, edition, T0).reasons[0].params["setting"] == setting


def test_a_secondary_contact_missing_tests_is_yellow_after_the_quarantine() -> None:
    facts = Facts(contacts=(contact(Tier.secondary),), tests=SIX_NEGATIVES[:2])
    status = evaluate_at(facts, "cn-9", day(7))
    assert (status.color, codes(status)) == (Color.yellow, [ReasonCode.secondary_contact_tests_needed])


def test_the_20_measures_do_not_color_secondary_contacts() -> None:
    status = evaluate_at(Facts(contacts=(contact(Tier.secondary),)), "cn-20m", T0)
    assert (status.color, codes(status), status.valid_until) == (Color.green, [ReasonCode.all_clear], None)


# --- Companions -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("edition", EDITIONS)
def test_a_companion_is_yellow_until_two_negatives_24_hours_apart(edition: str) -> None:
    second = day(0, 25)
    facts = Facts(contacts=(contact(Tier.companion),), tests=(negative(day(0, 1)), negative(second)))
    check_timeline(
        facts,
        edition,
        [
            (T0, Color.yellow, None, ReasonCode.companion_tests_needed),
            (second - SECOND, Color.yellow, None, ReasonCode.companion_tests_needed),
            (second, Color.green, None, ReasonCode.all_clear),
        ],
    )


@pytest.mark.parametrize(
    "tests",
    [
        pytest.param((negative(day(0, 1)), negative(day(0, 24))), id="23 hours apart"),
        pytest.param((negative(day(0, -1)), negative(day(0, 24))), id="one sampled before the exposure"),
        pytest.param((negative(day(0, 1)),), id="only one"),
    ],
)
def test_a_companion_needs_one_more_negative_when(tests: tuple[LabTest, ...]) -> None:
    status = evaluate_at(Facts(contacts=(contact(Tier.companion),), tests=tests), "cn-9", day(2))
    assert (status.color, status.reasons[0].params["tests_needed"]) == (Color.yellow, 1)


def test_a_companion_with_23_hours_between_tests_is_cleared_by_a_third_a_day_after_the_first() -> None:
    tests = (negative(day(0, 1)), negative(day(0, 24)), negative(day(0, 26)))
    assert evaluate_at(Facts(contacts=(contact(Tier.companion),), tests=tests), "cn-9", day(2)).color == Color.green


# --- Cases ------------------------------------------------------------------------------------------------

CONFIRMED = CaseFacts(Classification.confirmed, first_positive_at=T0, isolated_at=day(0, 2))


@pytest.mark.parametrize("edition", EDITIONS)
def test_a_suspected_case_is_red_with_no_end(edition: str) -> None:
    facts = Facts(case=CaseFacts(Classification.suspected, isolated_at=T0), tests=SIX_NEGATIVES)
    status = evaluate_at(facts, edition, day(30))
    assert (status.color, status.valid_until, codes(status)) == (Color.red, None, [ReasonCode.case_suspected])


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("classification", [Classification.confirmed, Classification.asymptomatic])
def test_an_infectious_case_without_release_tests_is_red_with_no_end(
    edition: str, classification: Classification
) -> None:
    facts = Facts(case=CaseFacts(classification, first_positive_at=T0), tests=(positive(T0),))
    status = evaluate_at(facts, edition, day(60))
    assert (status.color, status.valid_until, codes(status)) == (Color.red, None, [f"case_{classification}"])


@pytest.mark.parametrize(("edition", "monitoring_days"), [("cn-9", 7), ("cn-20m", 7)])
def test_a_case_is_released_by_two_tests_with_ct_35_or_more_24_hours_apart(edition: str, monitoring_days: int) -> None:
    release = day(11)
    facts = Facts(case=CONFIRMED, tests=(positive(T0, 20, 21), positive(day(10), 36, 37), positive(release, 35, 35)))
    end = release + timedelta(days=monitoring_days)
    check_timeline(
        facts,
        edition,
        [
            (release - SECOND, Color.red, None, ReasonCode.case_confirmed),
            (release, Color.yellow, end, ReasonCode.case_release_monitoring),
            (end - SECOND, Color.yellow, end, ReasonCode.case_release_monitoring),
            (end, Color.green, None, ReasonCode.all_clear),
        ],
    )


def test_under_cn_8_two_negatives_24_hours_apart_release_a_case_into_14_days_of_monitoring() -> None:
    facts = Facts(case=CONFIRMED, tests=(positive(day(9), 36, 36), negative(day(10)), negative(day(11))))
    check_timeline(
        facts,
        "cn-8",
        [
            (day(11) - SECOND, Color.red, None, ReasonCode.case_confirmed),
            (day(11), Color.yellow, day(25), ReasonCode.case_release_monitoring),
            (day(25), Color.green, None, ReasonCode.all_clear),
        ],
    )
    # Ct 36 is not a negative under the 8th edition, and it starts the count again.
    assert evaluate_at(Facts(case=CONFIRMED, tests=(positive(day(10), 36, 36),)), "cn-8", day(12)).color == Color.red


@pytest.mark.parametrize(
    "tests",
    [
        pytest.param((positive(day(10), 34, 36), positive(day(11), 36, 36)), id="N Ct 34"),
        pytest.param((positive(day(10), 36, 34.9), positive(day(11), 36, 36)), id="ORF Ct 34.9"),
        pytest.param((positive(day(10), 36), positive(day(11), 36, 36)), id="ORF Ct missing"),
        pytest.param((negative(day(10)), negative(day(10, 23))), id="23 hours apart"),
        pytest.param((negative(day(10)), positive(day(10, 12), 30, 30), negative(day(11))), id="not in a row"),
        pytest.param((negative(day(0, 1)), negative(day(0, 2)), negative(day(1, 1))), id="before isolation"),
    ],
)
def test_a_case_is_not_released_when(tests: tuple[LabTest, ...]) -> None:
    status = evaluate_at(Facts(case=CONFIRMED, tests=tests), "cn-9", day(20))
    assert (status.color, codes(status)) == (Color.red, [ReasonCode.case_confirmed])


def test_after_a_test_out_of_a_row_two_more_release_the_case() -> None:
    tests = (negative(day(10)), positive(day(10, 12), 30, 30), negative(day(11)), negative(day(12)))
    status = evaluate_at(Facts(case=CONFIRMED, tests=tests), "cn-9", day(12))
    assert (status.color, status.reasons[0].params["released_at"]) == (
        Color.yellow,
        day(12).astimezone(UTC).isoformat(),
    )


def test_a_recorded_release_counts_even_a_scheduled_one() -> None:
    facts = Facts(case=CaseFacts(Classification.confirmed, first_positive_at=T0, released_at=day(14)))
    check_timeline(
        facts,
        "cn-9",
        [
            (day(13), Color.red, day(14), ReasonCode.case_confirmed),
            (day(14), Color.yellow, day(21), ReasonCode.case_release_monitoring),
        ],
    )


def test_a_case_that_died_is_never_released() -> None:
    case = CaseFacts(Classification.confirmed, first_positive_at=T0, outcome=CaseOutcome.died, released_at=day(5))
    status = evaluate_at(Facts(case=case, tests=(negative(day(2)), negative(day(3)))), "cn-9", day(30))
    assert (status.color, status.valid_until, status.reasons[0].params["outcome"]) == (Color.red, None, "died")


def test_without_first_positive_sampling_or_isolation_tests_cannot_release_a_case() -> None:
    facts = Facts(case=CaseFacts(Classification.confirmed, onset_date=T0.date()), tests=SIX_NEGATIVES)
    assert evaluate_at(facts, "cn-9", day(30)).color == Color.red


# --- Positive tests, risk areas, fevers, appeals ---------------------------------------------------------


@pytest.mark.parametrize("edition", EDITIONS)
def test_a_positive_test_without_a_case_is_red_until_reviewed(edition: str) -> None:
    facts = Facts(tests=(positive(T0), negative(day(1)), negative(day(2))))
    status = evaluate_at(facts, edition, day(30))
    assert (status.color, status.valid_until, codes(status)) == (Color.red, None, [ReasonCode.positive_test])


def test_a_positive_test_after_the_release_is_red_again() -> None:
    facts = Facts(case=CONFIRMED, tests=(negative(day(10)), negative(day(11)), positive(day(13))))
    status = evaluate_at(facts, "cn-9", day(13))
    assert (status.color, codes(status)) == (
        Color.red,
        [ReasonCode.positive_test, ReasonCode.case_release_monitoring],
    )


def test_a_suspected_case_does_not_explain_a_positive_test() -> None:
    facts = Facts(case=CaseFacts(Classification.suspected), tests=(positive(T0),))
    assert codes(evaluate_at(facts, "cn-9", T0)) == [ReasonCode.case_suspected, ReasonCode.positive_test]


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("level", [RiskLevel.high, RiskLevel.medium])
def test_a_risk_area_stay_is_yellow_until_7_days_after_leaving(edition: str, level: RiskLevel) -> None:
    facts = Facts(risk_stays=(RiskAreaStay(level, start=day(-3), end=T0, area="朝阳区"),))
    check_timeline(
        facts,
        edition,
        [
            (day(-3), Color.yellow, day(7), ReasonCode.risk_area_stay),
            (day(7) - SECOND, Color.yellow, day(7), ReasonCode.risk_area_stay),
            (day(7), Color.green, None, ReasonCode.all_clear),
        ],
    )


def test_a_stay_not_yet_begun_does_not_count() -> None:
    facts = Facts(risk_stays=(RiskAreaStay(RiskLevel.high, start=day(1), end=day(2)),))
    assert evaluate_at(facts, "cn-9", T0).color == Color.green


@pytest.mark.parametrize(
    ("celsius", "tests", "color"),
    [
        pytest.param(37.3, (), Color.yellow, id="37.3 is a fever"),
        pytest.param(37.2, (), Color.green, id="37.2 is not"),
        pytest.param(38.5, (negative(day(0, 1)),), Color.green, id="negative after it"),
        pytest.param(38.5, (negative(T0),), Color.yellow, id="negative at the same instant"),
        pytest.param(38.5, (negative(day(-1)),), Color.yellow, id="negative before it"),
    ],
)
def test_a_fever_is_yellow_until_a_negative_test_sampled_after_it(
    celsius: float, tests: tuple[LabTest, ...], color: Color
) -> None:
    status = evaluate_at(Facts(fevers=(Fever(T0, celsius),), tests=tests), "cn-9", day(3))
    assert (status.color, status.valid_until) == (color, None)


def test_an_open_appeal_changes_no_color_and_comes_last() -> None:
    facts = Facts(contacts=(contact(Tier.companion),), appeal_open=True)
    status = evaluate_at(facts, "cn-9", T0)
    assert (status.color, codes(status)) == (Color.yellow, [ReasonCode.companion_tests_needed, ReasonCode.appeal_open])
    assert status.reasons[-1].color is None
    assert codes(evaluate_at(Facts(appeal_open=True), "cn-9", T0)) == [ReasonCode.all_clear, ReasonCode.appeal_open]


# --- Together ---------------------------------------------------------------------------------------------


def test_every_rule_that_applies_is_listed_worst_first() -> None:
    facts = Facts(
        contacts=(contact(Tier.companion), contact(Tier.close)),
        tests=(positive(day(0, 2)),),
        risk_stays=(
            RiskAreaStay(RiskLevel.medium, start=day(-5), end=day(-4)),
            RiskAreaStay(RiskLevel.high, start=day(-2), end=day(-1)),
        ),
        fevers=(Fever(day(0, 1), 38.0),),
        appeal_open=True,
    )
    status = evaluate_at(facts, "cn-9", day(1))
    assert status.color == Color.red
    assert codes(status) == [
        ReasonCode.positive_test,
        ReasonCode.close_contact_quarantine,
        ReasonCode.companion_tests_needed,
        ReasonCode.risk_area_stay,
        ReasonCode.risk_area_stay,
        ReasonCode.fever,
        ReasonCode.appeal_open,
    ]
    assert [reason.params.get("level") for reason in status.reasons[3:5]] == ["high", "medium"]  # latest first
    assert [reason.color for reason in status.reasons] == [Color.red] * 2 + [Color.yellow] * 4 + [None]
    # The positive test is red with no end, so the close contact's phases change no color.
    assert status.valid_until is None


def test_valid_until_skips_changes_that_leave_the_color_as_it_is() -> None:
    facts = Facts(contacts=(contact(Tier.close),), risk_stays=(RiskAreaStay(RiskLevel.high, day(-1), day(-4)),))
    status = evaluate_at(facts, "cn-9", day(1))
    assert (status.color, status.valid_until) == (Color.red, day(7))
    assert codes(status) == [ReasonCode.close_contact_quarantine, ReasonCode.risk_area_stay]
    assert codes(evaluate_at(facts, "cn-9", day(6))) == [ReasonCode.close_contact_quarantine]


def test_facts_from_after_now_are_not_known_yet() -> None:
    facts = Facts(contacts=(contact(Tier.close, day(1)),), fevers=(Fever(day(1), 39.0),), tests=(positive(day(1)),))
    status = evaluate_at(facts, "cn-9", T0)
    assert (status.color, status.valid_until) == (Color.green, None)


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(Facts(), load_policy("cn-9"), datetime(2022, 7, 1))  # noqa: DTZ001


def test_the_mirrored_enums_have_the_case_models_values() -> None:
    from fangkong.cases import models

    assert [c.value for c in Classification] == [c.value for c in models.Classification]
    assert [o.value for o in CaseOutcome] == [o.value for o in models.CaseOutcome]
    assert [t.value for t in Tier] == [t.value for t in models.ContactTier]
    # The service may pass the ORM's tier as it is.
    status = evaluate_at(Facts(contacts=(ContactFacts(models.ContactTier.close, T0),)), "cn-9", T0)  # type: ignore[arg-type]
    assert status.color == Color.red


# --- Properties -------------------------------------------------------------------------------------------
#
# Instants are whole minutes around T0, so every edge is a whole second and "one second before" is inside the
# interval that ends there.


def minutes(lo: int = -40 * 1440, hi: int = 40 * 1440) -> st.SearchStrategy[datetime]:
    return st.integers(lo, hi).map(lambda m: T0 + timedelta(minutes=m))


def facts_strategy(latest: int) -> st.SearchStrategy[Facts]:
    """Random facts whose instants are at most `latest` minutes after T0 (a release may be scheduled later)."""
    at = minutes(hi=latest)
    lab = st.builds(
        LabTest,
        sampled_at=at,
        result=st.sampled_from([LabResult.negative] * 3 + [LabResult.positive]),  # positives are red for good
        ct_n=st.none() | st.floats(15, 40),
        ct_orf=st.none() | st.floats(15, 40),
    )
    case = st.builds(
        CaseFacts,
        classification=st.sampled_from(Classification),
        first_positive_at=st.none() | at,
        isolated_at=st.none() | at,
        outcome=st.none() | st.sampled_from(CaseOutcome),
        released_at=st.none() | minutes(),
    )
    evidence = st.builds(Evidence, venue=st.text(max_size=5), start=at, end=at)
    return st.builds(
        Facts,
        case=st.one_of(st.none(), st.none(), st.none(), case),  # a case is mostly red for good
        contacts=st.lists(st.builds(ContactFacts, st.sampled_from(Tier), at, st.none() | evidence), max_size=3).map(
            tuple
        ),
        tests=st.lists(lab, max_size=6).map(tuple),
        risk_stays=st.lists(st.builds(RiskAreaStay, st.sampled_from(RiskLevel), at, minutes()), max_size=2).map(tuple),
        fevers=st.lists(st.builds(Fever, at, st.floats(35, 41)), max_size=2).map(tuple),
        appeal_open=st.booleans(),
    )


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy(latest=0), edition=st.sampled_from(EDITIONS), later=st.integers(1, 60 * 1440))
def test_the_color_holds_until_valid_until_and_changes_there(facts: Facts, edition: str, later: int) -> None:
    status = evaluate_at(facts, edition, T0)
    assert status.color == max((r.color for r in status.reasons if r.color), key=lambda c: c.rank)
    ranks = [r.color.rank for r in status.reasons if r.color is not None]
    assert ranks == sorted(ranks, reverse=True)
    if status.valid_until is None:
        assert evaluate_at(facts, edition, T0 + timedelta(days=400)).color == status.color
        return
    assert status.valid_until > T0
    assert evaluate_at(facts, edition, status.valid_until - SECOND).color == status.color
    assert evaluate_at(facts, edition, status.valid_until).color != status.color
    between = min(T0 + timedelta(minutes=later), status.valid_until - SECOND)
    assert evaluate_at(facts, edition, between).color == status.color


@settings(max_examples=300, deadline=None)
@given(facts=facts_strategy(latest=40 * 1440), edition=st.sampled_from(EDITIONS), now=minutes())
def test_evaluate_never_raises_and_an_appeal_never_changes_the_color(facts: Facts, edition: str, now: datetime) -> None:
    status = evaluate_at(facts, edition, now)
    assert status.reasons
    appealed = Facts(
        case=facts.case,
        contacts=facts.contacts,
        tests=facts.tests,
        risk_stays=facts.risk_stays,
        fevers=facts.fevers,
        appeal_open=not facts.appeal_open,
    )
    assert evaluate_at(appealed, edition, now).color == status.color


def test_a_review_adds_its_color_until_its_end_but_never_paints_over_the_rules() -> None:
    policy = load_policy("cn-9")
    start = datetime(2022, 3, 20, 4, 0, tzinfo=UTC)
    yellow = Review(Color.yellow, start, start + timedelta(days=3), "contact 7", "refused to test")
    status = evaluate(Facts(reviews=(yellow,)), policy, start + timedelta(hours=1))
    assert (status.color, status.valid_until) == (Color.yellow, start + timedelta(days=3))
    assert evaluate(Facts(reviews=(yellow,)), policy, start + timedelta(days=3)).color is Color.green
    # A green review beside a confirmed case changes nothing: the worst color wins.
    green = Review(Color.green, start, start + timedelta(days=3), "case 1", "looks fine")
    case = CaseFacts(Classification.confirmed, first_positive_at=start)
    assert evaluate(Facts(case=case, reviews=(green,)), policy, start + timedelta(hours=1)).color is Color.red
