"""The health-code engine: a person's color, every reason for it, and when it will next change by itself.

The rules, which the tests and the reason texts rely on:

* Only what is known at `now` counts: tests sampled, fevers measured, exposures and risk-area stays begun at or
  before `now`. A case counts whatever its dates; a recorded release later than `now` is a scheduled one.
* Each rule yields findings: a color and a reason over a half-open interval [start, end) of time. The color at an
  instant is the worst color of the findings in force then, green when there are none.
* Case. Suspected: the case color, with no end. Confirmed or asymptomatic: the case color until released, then
  the monitoring color for the monitoring period. The release is the earlier of the recorded release and the
  sampling of the test that completes the policy's rule: `release_tests` qualifying tests in a row, sampled after
  the later of first positive sampling and isolation (without either, only a recorded release counts), each at
  least `release_spacing` after the one counted before it. A test qualifies if negative or, where the policy has a
  Ct threshold, positive with N and ORF Ct both at or above it; any other test starts the count again. A case that
  died is never released.
* Positive test. A positive test that no infectious case explains (one sampled after the case's release, or any
  positive without an infectious case) gives the positive-test color with no end: it awaits an investigator.
* Contacts, tier by tier: the latest exposure of the tier governs. Its phases follow one another from that
  exposure; after them comes the tier's hold color until enough negative tests sampled after the exposure are on
  record (each later than, and at least `min_spacing` after, the one counted before it); then nothing. Tiers the
  policy does not identify (secondary contacts under the 20 measures) color nothing.
* Risk area. A stay at a level the policy lists: its color from the start of the stay until `window` after its end.
* Fever at or above the threshold: the latest one gives its color until a negative test sampled after it.
* An open appeal changes nothing: it is a note after the reasons.

`valid_until` is the first instant after `now` at which the color changes if nothing new is recorded: a phase, a
monitoring period, a risk window or a scheduled release ending. Test-driven changes are never pending, because
every test that counts is already sampled.

Pure: no database, no I/O. Datetimes are timezone-aware and compare by instant.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from fangkong.policy.editions import Care, Color, Policy, RiskLevel, Tier, TierRule

__all__ = [
    "CaseFacts",
    "CaseOutcome",
    "Classification",
    "CodeStatus",
    "Color",
    "ContactFacts",
    "Evidence",
    "Facts",
    "Fever",
    "LabResult",
    "LabTest",
    "Reason",
    "ReasonCode",
    "RiskAreaStay",
    "RiskLevel",
    "Tier",
    "evaluate",
]


class Classification(StrEnum):
    """Mirrors fangkong.cases.models.Classification (same values), so the engine needs no ORM."""

    suspected = "suspected"
    confirmed = "confirmed"
    asymptomatic = "asymptomatic"


class CaseOutcome(StrEnum):
    """Mirrors fangkong.cases.models.CaseOutcome."""

    discharged = "discharged"
    died = "died"


class LabResult(StrEnum):
    negative = "negative"
    positive = "positive"


class ReasonCode(StrEnum):
    """Stable codes: stored with color changes and rendered by `reasons.render`. Reasons of one color are listed
    in this order."""

    case_suspected = "case_suspected"
    case_confirmed = "case_confirmed"
    case_asymptomatic = "case_asymptomatic"
    case_release_monitoring = "case_release_monitoring"
    positive_test = "positive_test"
    close_contact_quarantine = "close_contact_quarantine"
    close_contact_home_monitoring = "close_contact_home_monitoring"
    close_contact_tests_needed = "close_contact_tests_needed"
    secondary_contact_quarantine = "secondary_contact_quarantine"
    secondary_contact_home_monitoring = "secondary_contact_home_monitoring"
    secondary_contact_tests_needed = "secondary_contact_tests_needed"
    companion_quarantine = "companion_quarantine"
    companion_home_monitoring = "companion_home_monitoring"
    companion_tests_needed = "companion_tests_needed"
    risk_area_stay = "risk_area_stay"
    fever = "fever"
    review_decision = "review_decision"
    appeal_open = "appeal_open"
    all_clear = "all_clear"


_CODE_ORDER: dict[str, int] = {code.value: index for index, code in enumerate(ReasonCode)}
_TIER_PREFIX = {Tier.close: "close_contact", Tier.secondary: "secondary_contact", Tier.companion: "companion"}


# --- Facts -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaseFacts:
    classification: Classification
    onset_date: date | None = None
    first_positive_at: datetime | None = None
    isolated_at: datetime | None = None
    outcome: CaseOutcome | None = None
    outcome_date: date | None = None
    # The instant isolation ended (release, or discharge: 治愈出院), as recorded by the service; the engine has no
    # time zone to turn `outcome_date` into an instant.
    released_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where and when a contact met the case, for the reason text: a co-presence at a venue."""

    venue: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """A confirmed contact record; the tier is the investigator's decision."""

    tier: Tier
    last_exposure_at: datetime
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class LabTest:
    sampled_at: datetime
    result: LabResult
    ct_n: float | None = None
    ct_orf: float | None = None


@dataclass(frozen=True, slots=True)
class RiskAreaStay:
    level: RiskLevel
    start: datetime
    end: datetime
    area: str = ""  # the area's name, for the reason text


@dataclass(frozen=True, slots=True)
class Fever:
    at: datetime
    celsius: float
    place: str = ""  # the checkpoint or venue, for the reason text


@dataclass(frozen=True, slots=True)
class Review:
    """A color set by an investigator's review, resting on a case or contact record, with a written reason. The
    worst color wins here as everywhere: a review can add a color the rules do not see, never paint over one
    they do (wrong facts are corrected instead, which recomputes the code)."""

    color: Color
    start: datetime
    until: datetime
    record: str  # "case 12", "contact 7"
    reason: str


@dataclass(frozen=True, slots=True)
class Facts:
    case: CaseFacts | None = None
    contacts: tuple[ContactFacts, ...] = ()
    tests: tuple[LabTest, ...] = ()
    risk_stays: tuple[RiskAreaStay, ...] = ()
    fevers: tuple[Fever, ...] = ()
    reviews: tuple[Review, ...] = ()
    appeal_open: bool = False


# --- Results -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that applies. Instants in `params` are ISO 8601 in UTC, dates ISO dates; `reasons.render` turns
    them into the city's clock."""

    code: str
    params: dict[str, str | int] = field(default_factory=dict)
    color: Color | None = None  # the color this rule asks for; None for a note


@dataclass(frozen=True, slots=True)
class CodeStatus:
    color: Color
    reasons: tuple[Reason, ...]  # worst color first, then in ReasonCode order, then latest first
    valid_until: datetime | None  # the next time-driven change of color, if any


@dataclass(frozen=True, slots=True)
class _Finding:
    color: Color
    reason: Reason
    start: datetime | None  # None: since before anything the rule looks at
    end: datetime | None  # None: until something new is recorded

    def covers(self, instant: datetime) -> bool:
        return (self.start is None or self.start <= instant) and (self.end is None or instant < self.end)


def _iso(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat()


def _hours(span: timedelta) -> int:
    return int(span.total_seconds()) // 3600


# --- The engine --------------------------------------------------------------------------------------------


def evaluate(facts: Facts, policy: Policy, now: datetime) -> CodeStatus:
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    tests = sorted((test for test in facts.tests if test.sampled_at <= now), key=lambda test: test.sampled_at)

    findings, release = _case(facts.case, tests, policy)
    findings += _positive_test(facts.case, release, tests, policy)
    findings += _contacts(facts.contacts, tests, policy, now)
    findings += _risk_stays(facts.risk_stays, policy, now)
    findings += _fever(facts.fevers, tests, policy, now)
    findings += _reviews(facts.reviews, now)

    color = _color_at(findings, now)
    active = [finding for finding in findings if finding.covers(now)]
    # Two stable sorts: latest first, then by color and code.
    active.sort(key=lambda finding: finding.start.timestamp() if finding.start else float("-inf"), reverse=True)
    active.sort(key=lambda finding: (-finding.color.rank, _CODE_ORDER[finding.reason.code]))
    reasons = [finding.reason for finding in active] or [Reason(ReasonCode.all_clear, {}, Color.green)]
    if facts.appeal_open:
        reasons.append(Reason(ReasonCode.appeal_open))
    return CodeStatus(color=color, reasons=tuple(reasons), valid_until=_next_change(findings, now, color))


def _color_at(findings: Sequence[_Finding], instant: datetime) -> Color:
    colors = [finding.color for finding in findings if finding.covers(instant)]
    return max(colors, key=lambda color: color.rank, default=Color.green)


def _next_change(findings: Sequence[_Finding], now: datetime, color: Color) -> datetime | None:
    # Between two edges nothing starts or ends, so the color can only change at an edge.
    edges = sorted({edge for f in findings for edge in (f.start, f.end) if edge is not None and edge > now})
    for edge in edges:
        if _color_at(findings, edge) != color:
            return edge
    return None


def _count(
    tests: Sequence[LabTest],
    *,
    after: datetime,
    qualifies: Callable[[LabTest], bool],
    need: int,
    spacing: timedelta,
    in_a_row: bool,
) -> tuple[datetime | None, int]:
    """Count qualifying tests sampled after `after`, each later than and at least `spacing` after the one counted
    before it; with `in_a_row`, a test that does not qualify starts the count again. Returns the sampling instant
    of the test that reaches `need` (None if none does) and the count reached.

    Counting greedily from the earliest test reaches `need` as early as any choice of tests could."""
    counted: list[datetime] = []
    for test in tests:
        if test.sampled_at <= after:
            continue
        if not qualifies(test):
            if in_a_row:
                counted.clear()
            continue
        if not counted or (test.sampled_at > counted[-1] and test.sampled_at - counted[-1] >= spacing):
            counted.append(test.sampled_at)
            if len(counted) >= need:
                return test.sampled_at, len(counted)
    return None, len(counted)


def _negative(test: LabTest) -> bool:
    return test.result == LabResult.negative


def _case(case: CaseFacts | None, tests: Sequence[LabTest], policy: Policy) -> tuple[list[_Finding], datetime | None]:
    """The case's findings and its release instant (None while not released)."""
    if case is None:
        return [], None
    rules = policy.case
    params: dict[str, str | int] = {}
    if case.onset_date is not None:
        params["onset"] = case.onset_date.isoformat()
    if case.first_positive_at is not None:
        params["first_positive_at"] = _iso(case.first_positive_at)
    if case.classification == Classification.suspected:
        # Only an investigator turns a suspected case into a confirmed one or clears it; no rule releases it.
        return [_Finding(rules.color, Reason(ReasonCode.case_suspected, params, rules.color), None, None)], None

    min_ct = rules.release_min_ct

    def qualifies(test: LabTest) -> bool:
        if test.result == LabResult.negative:
            return True
        if min_ct is None or test.ct_n is None or test.ct_orf is None:
            return False
        return test.ct_n >= min_ct and test.ct_orf >= min_ct

    anchors = [instant for instant in (case.first_positive_at, case.isolated_at) if instant is not None]
    by_tests, counted = None, 0
    if anchors:
        by_tests, counted = _count(
            tests,
            after=max(anchors),
            qualifies=qualifies,
            need=rules.release_tests,
            spacing=rules.release_spacing,
            in_a_row=True,
        )
    releases = [instant for instant in (case.released_at, by_tests) if instant is not None]
    release = min(releases) if releases and case.outcome != CaseOutcome.died else None
    if case.outcome == CaseOutcome.died:
        params["outcome"] = CaseOutcome.died.value
    params["release_tests"] = rules.release_tests
    params["release_tests_needed"] = 0 if by_tests is not None else rules.release_tests - counted
    params["release_spacing_hours"] = _hours(rules.release_spacing)
    if min_ct is not None:
        params["release_min_ct"] = f"{min_ct:g}"

    confirmed = case.classification == Classification.confirmed
    code = ReasonCode.case_confirmed if confirmed else ReasonCode.case_asymptomatic
    findings = [_Finding(rules.color, Reason(code, params, rules.color), None, release)]
    if release is not None and rules.monitoring:
        until = release + rules.monitoring
        monitoring = Reason(
            ReasonCode.case_release_monitoring,
            {"released_at": _iso(release), "until": _iso(until)},
            rules.monitoring_color,
        )
        findings.append(_Finding(rules.monitoring_color, monitoring, release, until))
    return findings, release


def _positive_test(
    case: CaseFacts | None, release: datetime | None, tests: Sequence[LabTest], policy: Policy
) -> list[_Finding]:
    infectious = case is not None and case.classification != Classification.suspected
    for test in reversed(tests):  # the latest unexplained positive speaks for any earlier one
        if test.result != LabResult.positive:
            continue
        if infectious and (release is None or test.sampled_at <= release):
            continue  # the case's own positives, before its release
        color = policy.positive_test_color
        reason = Reason(ReasonCode.positive_test, {"sampled_at": _iso(test.sampled_at)}, color)
        return [_Finding(color, reason, test.sampled_at, None)]
    return []


def _contacts(
    contacts: Sequence[ContactFacts], tests: Sequence[LabTest], policy: Policy, now: datetime
) -> list[_Finding]:
    latest: dict[Tier, ContactFacts] = {}
    for contact in contacts:
        if contact.last_exposure_at > now:
            continue
        tier = Tier(contact.tier)
        known = latest.get(tier)
        # A later exposure restarts every clock of the tier; at a tie, the record with evidence tells more.
        if known is None or (contact.last_exposure_at, contact.evidence is not None) > (
            known.last_exposure_at,
            known.evidence is not None,
        ):
            latest[tier] = contact
    findings: list[_Finding] = []
    for tier in Tier:  # in a fixed order, so equal findings come out the same way every time
        rule = policy.tier(tier)
        if tier in latest and rule is not None:
            findings += _tier(tier, latest[tier], rule, tests)
    return findings


def _tier(tier: Tier, contact: ContactFacts, rule: TierRule, tests: Sequence[LabTest]) -> list[_Finding]:
    prefix = _TIER_PREFIX[tier]
    exposure = contact.last_exposure_at
    base: dict[str, str | int] = {"last_exposure_at": _iso(exposure)}
    if contact.evidence is not None:
        base["venue"] = contact.evidence.venue
        base["exposure_start"] = _iso(contact.evidence.start)
        base["exposure_end"] = _iso(contact.evidence.end)
    cleared = True
    if rule.hold_color is not None:
        cleared_at, counted = _count(
            tests,
            after=exposure,
            qualifies=_negative,
            need=rule.negative_tests,
            spacing=rule.min_spacing,
            in_a_row=False,
        )
        cleared = cleared_at is not None
        base["tests_needed"] = 0 if cleared else rule.negative_tests - counted
        base["min_spacing_hours"] = _hours(rule.min_spacing)

    findings: list[_Finding] = []
    start = exposure
    for phase in rule.phases:
        end = start + phase.duration
        params = {**base, "until": _iso(end)}
        if phase.care == Care.home_monitoring:
            code = ReasonCode(f"{prefix}_home_monitoring")
        else:
            code = ReasonCode(f"{prefix}_quarantine")
            params["setting"] = "centralized" if phase.care == Care.centralized_quarantine else "home"
        findings.append(_Finding(phase.color, Reason(code, params, phase.color), start, end))
        start = end
    if rule.hold_color is not None and not cleared:
        reason = Reason(ReasonCode(f"{prefix}_tests_needed"), base, rule.hold_color)
        findings.append(_Finding(rule.hold_color, reason, start, None))
    return findings


def _risk_stays(stays: Sequence[RiskAreaStay], policy: Policy, now: datetime) -> list[_Finding]:
    rule = policy.risk_area
    findings: list[_Finding] = []
    for stay in stays:
        if stay.start > now or stay.level not in rule.levels:
            continue
        left = max(stay.start, stay.end)  # an end before the start is read as a visit without length
        until = left + rule.window
        params: dict[str, str | int] = {
            "level": str(stay.level),
            "left_at": _iso(left),
            "until": _iso(until),
            "days": rule.window.days,
        }
        if stay.area:
            params["area"] = stay.area
        findings.append(_Finding(rule.color, Reason(ReasonCode.risk_area_stay, params, rule.color), stay.start, until))
    return findings


def _fever(fevers: Sequence[Fever], tests: Sequence[LabTest], policy: Policy, now: datetime) -> list[_Finding]:
    rule = policy.fever
    found = [fever for fever in fevers if fever.at <= now and fever.celsius >= rule.min_celsius]
    if not found:
        return []
    # A negative test after the latest fever is after every earlier one too, so the latest decides.
    latest = max(found, key=lambda fever: (fever.at, fever.celsius))
    if any(_negative(test) and test.sampled_at > latest.at for test in tests):
        return []
    params: dict[str, str | int] = {"celsius": f"{latest.celsius:.1f}", "at": _iso(latest.at)}
    if latest.place:
        params["place"] = latest.place
    return [_Finding(rule.color, Reason(ReasonCode.fever, params, rule.color), latest.at, None)]


def _reviews(reviews: Sequence[Review], now: datetime) -> list[_Finding]:
    findings = []
    for review in reviews:
        if review.start > now or review.until <= review.start:
            continue
        params: dict[str, str | int] = {"record": review.record, "reason": review.reason, "until": _iso(review.until)}
        reason = Reason(ReasonCode.review_decision, params, review.color)
        findings.append(_Finding(review.color, reason, review.start, review.until))
    return findings
