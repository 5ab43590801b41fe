"""Reason texts in both languages, on the city's clock, with the evidence the facts carry."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fangkong.healthcode.engine import (
    CaseFacts,
    CaseOutcome,
    Classification,
    ContactFacts,
    Evidence,
    Facts,
    Fever,
    LabResult,
    LabTest,
    Reason,
    ReasonCode,
    Review,
    RiskAreaStay,
    RiskLevel,
    Tier,
    evaluate,
)
from fangkong.healthcode.reasons import render
from fangkong.policy.editions import EDITIONS, Care, Color, Phase, TierRule, load_policy

CITY = ZoneInfo("Asia/Shanghai")
EXPOSURE = datetime(2022, 3, 20, 14, 40, tzinfo=CITY)
MARKET = Evidence(venue="XX超市", start=datetime(2022, 3, 20, 14, 5, tzinfo=CITY), end=EXPOSURE)


def iso(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> str:
    return datetime(year, month, day, hour, minute, tzinfo=CITY).astimezone(UTC).isoformat()


def reasons(facts: Facts, now: datetime, edition: str = "cn-9") -> list[Reason]:
    return list(evaluate(facts, load_policy(edition), now).reasons)


def both(reason: Reason) -> tuple[str, str]:
    return render(reason, "zh", CITY), render(reason, "en", CITY)


def test_a_companion_reads_as_the_place_and_time_and_the_tests_still_needed() -> None:
    facts = Facts(
        contacts=(ContactFacts(Tier.companion, EXPOSURE, MARKET),),
        tests=(LabTest(EXPOSURE + timedelta(hours=3), LabResult.negative),),
    )
    [reason] = reasons(facts, EXPOSURE + timedelta(hours=4))
    assert both(reason) == (
        "同场所同时段暴露：XX超市 3月20日 14:05–14:40；还需1次核酸阴性（间隔≥24小时）",
        "Same place and time as a case: XX超市, 20 Mar 14:05–14:40; one more negative test needed (≥ 24 h apart)",
    )


def test_a_close_contact_reads_as_the_evidence_the_phase_and_the_tests() -> None:
    [reason] = reasons(Facts(contacts=(ContactFacts(Tier.close, EXPOSURE, MARKET),)), EXPOSURE)
    assert both(reason) == (
        "密切接触者，同场所同时段暴露：XX超市 3月20日 14:05–14:40；集中隔离至3月27日 14:40；还需6次核酸阴性",
        "Close contact, same place and time as a case: XX超市, 20 Mar 14:05–14:40; "
        "centralized quarantine until 27 Mar 14:40; 6 more negative tests needed",
    )


def test_without_evidence_a_contact_reads_as_the_last_exposure() -> None:
    facts = Facts(contacts=(ContactFacts(Tier.close, EXPOSURE),))
    [monitoring] = reasons(facts, EXPOSURE + timedelta(days=8))
    [hold] = reasons(facts, EXPOSURE + timedelta(days=10))
    assert both(monitoring) == (
        "密切接触者（最后暴露 3月20日 14:40）；居家健康监测至3月30日 14:40；还需6次核酸阴性",
        "Close contact, last exposure 20 Mar 14:40; home health monitoring until 30 Mar 14:40; "
        "6 more negative tests needed",
    )
    assert both(hold) == (
        "密切接触者（最后暴露 3月20日 14:40）；观察期已满；还需6次核酸阴性",
        "Close contact, last exposure 20 Mar 14:40; observation period over; 6 more negative tests needed",
    )


def test_a_secondary_contact_reads_as_home_quarantine() -> None:
    [reason] = reasons(Facts(contacts=(ContactFacts(Tier.secondary, EXPOSURE),)), EXPOSURE)
    assert both(reason) == (
        "次密切接触者（最后暴露 3月20日 14:40）；居家隔离至3月27日 14:40；还需3次核酸阴性",
        "Secondary close contact, last exposure 20 Mar 14:40; home quarantine until 27 Mar 14:40; "
        "3 more negative tests needed",
    )


def test_an_exposure_over_midnight_shows_both_days() -> None:
    evidence = Evidence("夜市", datetime(2022, 3, 20, 23, 50, tzinfo=CITY), datetime(2022, 3, 21, 0, 20, tzinfo=CITY))
    [reason] = reasons(Facts(contacts=(ContactFacts(Tier.companion, evidence.end, evidence),)), evidence.end)
    assert (
        render(reason, "zh", CITY)
        == "同场所同时段暴露：夜市 3月20日 23:50–3月21日 00:20；还需2次核酸阴性（间隔≥24小时）"
    )


def test_times_are_shown_on_the_clock_of_the_zone_given() -> None:
    [reason] = reasons(Facts(contacts=(ContactFacts(Tier.companion, EXPOSURE, MARKET),)), EXPOSURE)
    assert render(reason, "en", UTC).startswith("Same place and time as a case: XX超市, 20 Mar 06:05–06:40;")


def test_a_case_reads_as_its_release_rule_under_each_edition() -> None:
    case = CaseFacts(Classification.confirmed, onset_date=EXPOSURE.date(), first_positive_at=EXPOSURE)
    facts = Facts(case=case, tests=(LabTest(EXPOSURE + timedelta(days=9), LabResult.positive, 36, 36),))
    now = EXPOSURE + timedelta(days=10)
    assert both(reasons(facts, now, "cn-9")[0]) == (
        "确诊病例（3月20日发病）；解除隔离需连续2次核酸N和ORF基因Ct值均≥35（或阴性），采样间隔≥24小时；还需1次",
        "Confirmed case (onset 20 Mar); release needs 2 tests in a row with N and ORF Ct ≥ 35 (or negative), "
        "sampled ≥ 24 h apart; 1 more needed",
    )
    assert both(reasons(facts, now, "cn-8")[0]) == (
        "确诊病例（3月20日发病）；解除隔离需连续2次核酸阴性，采样间隔≥24小时",
        "Confirmed case (onset 20 Mar); release needs 2 negative tests in a row, sampled ≥ 24 h apart",
    )


@pytest.mark.parametrize(
    ("case", "zh", "en"),
    [
        (CaseFacts(Classification.suspected), "疑似病例", "Suspected case"),
        (
            CaseFacts(Classification.asymptomatic, outcome=CaseOutcome.died),
            "无症状感染者（已死亡）",
            "Asymptomatic infection (died)",
        ),
    ],
)
def test_a_suspected_case_and_a_case_that_died_read_as_their_labels(case: CaseFacts, zh: str, en: str) -> None:
    assert both(reasons(Facts(case=case), EXPOSURE)[0]) == (zh, en)


def test_release_monitoring_and_a_positive_test_read_with_their_times() -> None:
    case = CaseFacts(Classification.confirmed, first_positive_at=EXPOSURE, released_at=EXPOSURE + timedelta(days=12))
    facts = Facts(case=case, tests=(LabTest(EXPOSURE + timedelta(days=13), LabResult.positive),))
    positive, monitoring = reasons(facts, EXPOSURE + timedelta(days=13))
    assert both(positive) == (
        "核酸检测阳性（4月2日 14:40采样），待流调复核",
        "Positive test sampled 2 Apr 14:40, awaiting review",
    )
    assert both(monitoring) == (
        "病例解除隔离（4月1日 14:40）后居家健康监测至4月8日 14:40",
        "Home health monitoring after release from isolation (1 Apr 14:40) until 8 Apr 14:40",
    )


def test_risk_area_stays_read_with_and_without_the_area_name() -> None:
    left = EXPOSURE - timedelta(days=1)
    named = RiskAreaStay(RiskLevel.high, left - timedelta(days=2), left, area="朝阳区")
    unnamed = RiskAreaStay(RiskLevel.medium, left - timedelta(days=3), left - timedelta(days=2))
    first, second = reasons(Facts(risk_stays=(unnamed, named)), EXPOSURE)
    assert both(first) == (
        "到访高风险地区：朝阳区，离开于3月19日 14:40；3月26日 14:40后解除",
        "Stay in a high-risk area: 朝阳区, left 19 Mar 14:40; lifted at 26 Mar 14:40",
    )
    assert both(second) == (
        "到访中风险地区，离开于3月17日 14:40；3月24日 14:40后解除",
        "Stay in a medium-risk area, left 17 Mar 14:40; lifted at 24 Mar 14:40",
    )


def test_a_fever_reads_with_the_temperature_time_and_place() -> None:
    [reason] = reasons(Facts(fevers=(Fever(EXPOSURE, 37.85, place="营口站"),)), EXPOSURE)
    assert both(reason) == (
        "发热37.9℃（3月20日 14:40，营口站）；需发热后采样的核酸阴性",
        "Fever of 37.9 °C (20 Mar 14:40, 营口站); a negative test sampled after it is needed",
    )


def test_an_appeal_and_a_clear_record_read_as_such() -> None:
    clear, appeal = reasons(Facts(appeal_open=True), EXPOSURE)
    assert both(clear) == ("无风险记录", "No risk on record")
    assert both(appeal) == (
        "申诉复核中；复核结果出来前码色不变",
        "Appeal under review; the color stands until it is decided",
    )


def test_no_tests_phrase_once_the_tests_are_done() -> None:
    reason = Reason(
        ReasonCode.close_contact_home_monitoring,
        {"last_exposure_at": iso(2022, 3, 20, 14, 40), "until": iso(2022, 3, 30, 14, 40), "tests_needed": 0},
    )
    assert (
        render(reason, "en", CITY)
        == "Close contact, last exposure 20 Mar 14:40; home health monitoring until 30 Mar 14:40"
    )


def test_every_reason_code_reads_in_both_languages() -> None:
    # No edition gives companions phases or secondary contacts home monitoring; a made-up one does, so that their
    # codes are produced too.
    made_up = TierRule(
        phases=(
            Phase(Care.home_quarantine, Color.red, timedelta(days=1)),
            Phase(Care.home_monitoring, Color.yellow, timedelta(days=1)),
        ),
        negative_tests=2,
        min_spacing=timedelta(hours=24),
        hold_color=Color.yellow,
    )
    policies = [load_policy(edition) for edition in EDITIONS]
    policies.append(dataclasses.replace(policies[1], companion=made_up, secondary=made_up))
    facts = Facts(
        case=CaseFacts(Classification.confirmed, first_positive_at=EXPOSURE, released_at=EXPOSURE + timedelta(days=1)),
        contacts=tuple(ContactFacts(tier, EXPOSURE, MARKET if tier == Tier.close else None) for tier in Tier),
        tests=(LabTest(EXPOSURE + timedelta(days=2), LabResult.positive),),
        risk_stays=(RiskAreaStay(RiskLevel.high, EXPOSURE, EXPOSURE + timedelta(days=1)),),
        fevers=(Fever(EXPOSURE, 38.2),),
        reviews=(Review(Color.yellow, EXPOSURE, EXPOSURE + timedelta(days=30), "contact 7", "refused to test"),),
        appeal_open=True,
    )
    suspected = Facts(case=CaseFacts(Classification.suspected))
    asymptomatic = Facts(case=CaseFacts(Classification.asymptomatic))
    seen: set[str] = {ReasonCode.all_clear}
    for policy in policies:
        for days in (0, 1, 1.5, 2, 8, 9, 12, 20, 40):
            now = EXPOSURE + timedelta(days=days)
            for each in (facts, suspected, asymptomatic):
                for reason in evaluate(each, policy, now).reasons:
                    seen.add(reason.code)
                    for lang in ("zh", "en"):
                        assert render(reason, lang, CITY)
    assert seen == set(ReasonCode)


def test_an_unknown_code_or_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="no text for reason code 'made_up'"):
        render(Reason("made_up"), "zh", CITY)
    with pytest.raises(ValueError, match="no reason texts in 'fr'"):
        render(Reason(ReasonCode.all_clear), "fr", CITY)  # type: ignore[arg-type]


def test_a_review_decision_names_its_record_and_reason() -> None:
    review = Review(Color.yellow, EXPOSURE, EXPOSURE + timedelta(days=3), "contact 7", "拒绝核酸检测")
    [reason] = reasons(Facts(reviews=(review,)), EXPOSURE + timedelta(hours=1))
    assert render(reason, "zh", CITY).startswith("流调复核决定（接触者记录7）：拒绝核酸检测；至")
    assert render(reason, "en", CITY).startswith("Review decision (contact 7): 拒绝核酸检测; until")
