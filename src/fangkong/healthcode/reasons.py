"""Reason texts: what a resident reads under their code, in Chinese or English, on the city's clock.

The engine's reasons carry stable codes and parameters (instants in UTC); the words live here, so that a reason
stored with a color change today reads in either language later. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, tzinfo
from typing import Literal

from fangkong.healthcode.engine import Reason, ReasonCode

Lang = Literal["zh", "en"]
Params = Mapping[str, str | int]

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def render(reason: Reason, lang: Lang, zone: tzinfo) -> str:
    if lang not in ("zh", "en"):
        raise ValueError(f"no reason texts in {lang!r}; use 'zh' or 'en'")
    try:
        write = _WRITERS[reason.code]
    except KeyError:
        raise ValueError(f"no text for reason code {reason.code!r}") from None
    return write(_Writer(lang, zone), reason.params)


class _Writer:
    def __init__(self, lang: Lang, zone: tzinfo) -> None:
        self.zh = lang == "zh"
        self.zone = zone

    def pick(self, zh: str, en: str) -> str:
        return zh if self.zh else en

    def _local(self, iso: str | int) -> datetime:
        return datetime.fromisoformat(str(iso)).astimezone(self.zone)

    def _day(self, day: date) -> str:
        return f"{day.month}月{day.day}日" if self.zh else f"{day.day} {_MONTHS_EN[day.month - 1]}"

    def when(self, iso: str | int) -> str:
        local = self._local(iso)
        return f"{self._day(local.date())} {local:%H:%M}"

    def span(self, start_iso: str | int, end_iso: str | int) -> str:
        start, end = self._local(start_iso), self._local(end_iso)
        if start.date() == end.date():
            return f"{self.when(start_iso)}–{end:%H:%M}"
        return f"{self.when(start_iso)}–{self.when(end_iso)}"

    def date(self, iso: str | int) -> str:
        return self._day(date.fromisoformat(str(iso)))

    def join(self, parts: list[str]) -> str:
        return self.pick("；", "; ").join(part for part in parts if part)

    def tests_needed(self, needed: int, spacing_hours: int) -> str:
        if needed <= 0:
            return ""
        if self.zh:
            return f"还需{needed}次核酸阴性" + (f"（间隔≥{spacing_hours}小时）" if spacing_hours else "")
        text = "one more negative test needed" if needed == 1 else f"{needed} more negative tests needed"
        return text + (f" (≥ {spacing_hours} h apart)" if spacing_hours else "")


# --- Cases and tests ---------------------------------------------------------------------------------------


def _case(label_zh: str, label_en: str) -> Callable[[_Writer, Params], str]:
    def write(w: _Writer, params: Params) -> str:
        label = w.pick(label_zh, label_en)
        if "onset" in params:
            label += w.pick(f"（{w.date(params['onset'])}发病）", f" (onset {w.date(params['onset'])})")
        if params.get("outcome") == "died":
            return label + w.pick("（已死亡）", " (died)")
        parts = [label]
        tests = params.get("release_tests")
        if tests is not None and int(params.get("release_tests_needed", 0)) > 0:
            parts.append(_release_rule(w, params, int(tests)))
            needed = int(params["release_tests_needed"])
            if needed < int(tests):
                parts.append(w.pick(f"还需{needed}次", f"{needed} more needed"))
        return w.join(parts)

    return write


def _release_rule(w: _Writer, params: Params, tests: int) -> str:
    hours = int(params.get("release_spacing_hours", 0))
    ct = params.get("release_min_ct")
    if w.zh:
        what = f"N和ORF基因Ct值均≥{ct}（或阴性）" if ct is not None else "阴性"
        return f"解除隔离需连续{tests}次核酸{what}" + (f"，采样间隔≥{hours}小时" if hours else "")
    what = f"tests in a row with N and ORF Ct ≥ {ct} (or negative)" if ct is not None else "negative tests in a row"
    return f"release needs {tests} {what}" + (f", sampled ≥ {hours} h apart" if hours else "")


def _release_monitoring(w: _Writer, params: Params) -> str:
    released, until = w.when(params["released_at"]), w.when(params["until"])
    return w.pick(
        f"病例解除隔离（{released}）后居家健康监测至{until}",
        f"Home health monitoring after release from isolation ({released}) until {until}",
    )


def _positive_test(w: _Writer, params: Params) -> str:
    sampled = w.when(params["sampled_at"])
    return w.pick(f"核酸检测阳性（{sampled}采样），待流调复核", f"Positive test sampled {sampled}, awaiting review")


# --- Contacts ----------------------------------------------------------------------------------------------

_TIER_LABELS = {
    "close_contact": ("密切接触者", "Close contact"),
    "secondary_contact": ("次密切接触者", "Secondary close contact"),
    "companion": ("时空伴随者", "Spatio-temporal companion"),
}


ContactKind = Literal["quarantine", "home_monitoring", "tests_needed"]
_CONTACT_KINDS: tuple[ContactKind, ...] = ("quarantine", "home_monitoring", "tests_needed")


def _contact(prefix: str, kind: ContactKind) -> Callable[[_Writer, Params], str]:
    label_zh, label_en = _TIER_LABELS[prefix]

    def write(w: _Writer, params: Params) -> str:
        if "venue" in params:
            span = w.span(params["exposure_start"], params["exposure_end"])
            if w.zh:
                evidence = f"同场所同时段暴露：{params['venue']} {span}"
            else:
                evidence = f"same place and time as a case: {params['venue']}, {span}"
            # Being at the same place at the same time is what a companion is; the label would only repeat it.
            first = evidence if prefix == "companion" else w.pick(f"{label_zh}，", f"{label_en}, ") + evidence
        else:
            last = w.when(params["last_exposure_at"])
            first = w.pick(f"{label_zh}（最后暴露 {last}）", f"{label_en}, last exposure {last}")
        first = first[0].upper() + first[1:]

        parts = [first]
        if kind == "quarantine":
            until = w.when(params["until"])
            if params.get("setting") == "centralized":
                parts.append(w.pick(f"集中隔离至{until}", f"centralized quarantine until {until}"))
            else:
                parts.append(w.pick(f"居家隔离至{until}", f"home quarantine until {until}"))
        elif kind == "home_monitoring":
            until = w.when(params["until"])
            parts.append(w.pick(f"居家健康监测至{until}", f"home health monitoring until {until}"))
        elif prefix != "companion":  # a companion has no observation period to be over
            parts.append(w.pick("观察期已满", "observation period over"))
        parts.append(w.tests_needed(int(params.get("tests_needed", 0)), int(params.get("min_spacing_hours", 0))))
        return w.join(parts)

    return write


# --- Everything else ---------------------------------------------------------------------------------------


def _risk_area(w: _Writer, params: Params) -> str:
    high = params["level"] == "high"
    level = w.pick("高风险地区" if high else "中风险地区", "high-risk area" if high else "medium-risk area")
    area = params.get("area")
    left, until = w.when(params["left_at"]), w.when(params["until"])
    if w.zh:
        return f"到访{level}" + (f"：{area}" if area else "") + f"，离开于{left}；{until}后解除"
    return f"Stay in a {level}" + (f": {area}" if area else "") + f", left {left}; lifted at {until}"


def _fever(w: _Writer, params: Params) -> str:
    at = w.when(params["at"])
    place = params.get("place")
    where = w.pick(f"，{place}", f", {place}") if place else ""
    return w.pick(
        f"发热{params['celsius']}℃（{at}{where}）；需发热后采样的核酸阴性",
        f"Fever of {params['celsius']} °C ({at}{where}); a negative test sampled after it is needed",
    )


def _review(w: _Writer, params: Params) -> str:
    record, reason, until = params["record"], params["reason"], w.when(params["until"])
    kind, number = str(record).split(" ", 1) if " " in str(record) else (str(record), "")
    label_zh = {"case": "病例", "contact": "接触者记录"}.get(kind, kind) + number
    return w.pick(
        f"流调复核决定（{label_zh}）：{reason}；至{until}", f"Review decision ({record}): {reason}; until {until}"
    )


def _fixed(zh: str, en: str) -> Callable[[_Writer, Params], str]:
    return lambda w, _params: w.pick(zh, en)


_WRITERS: dict[str, Callable[[_Writer, Params], str]] = {
    ReasonCode.case_suspected: _case("疑似病例", "Suspected case"),
    ReasonCode.case_confirmed: _case("确诊病例", "Confirmed case"),
    ReasonCode.case_asymptomatic: _case("无症状感染者", "Asymptomatic infection"),
    ReasonCode.case_release_monitoring: _release_monitoring,
    ReasonCode.positive_test: _positive_test,
    **{ReasonCode(f"{prefix}_{kind}"): _contact(prefix, kind) for prefix in _TIER_LABELS for kind in _CONTACT_KINDS},
    ReasonCode.risk_area_stay: _risk_area,
    ReasonCode.fever: _fever,
    ReasonCode.review_decision: _review,
    ReasonCode.appeal_open: _fixed(
        "申诉复核中；复核结果出来前码色不变", "Appeal under review; the color stands until it is decided"
    ),
    ReasonCode.all_clear: _fixed("无风险记录", "No risk on record"),
}
