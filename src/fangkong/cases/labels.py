"""The case and contact values as the pages show them: English msgids (tests/web/test_i18n_runtime.py checks they
are translated), read through fangkong.web.labels.labeler. Here, beside the models rather than in the pages, so
that other domains' pages (the appeal queue) show a contact's tier without importing the case pages."""

from __future__ import annotations

from fangkong.cases.models import (
    CaseChange,
    CaseOutcome,
    Classification,
    ContactChange,
    ContactStatus,
    ContactTier,
    EvidenceKind,
    FollowUp,
    Severity,
)
from fangkong.web.labels import EnumLabels

LABELS: EnumLabels = {
    Classification: {
        "suspected": "Suspected case",
        "confirmed": "Confirmed case",
        "asymptomatic": "Asymptomatic infection",
    },
    Severity: {"mild": "Mild", "ordinary": "Ordinary", "severe": "Severe", "critical": "Critical"},
    CaseOutcome: {"discharged": "Discharged, cured", "died": "Died"},
    ContactTier: {
        "close": "Close contact",
        "secondary": "Secondary close contact",
        "companion": "Spatiotemporal companion",
    },
    ContactStatus: {"candidate": "Candidate", "confirmed": "Confirmed", "dismissed": "Dismissed"},
    FollowUp: {
        "to_trace": "To trace",
        "traced": "Reached",
        "under_observation": "Under medical observation",
        "released": "Released",
    },
    EvidenceKind: {"checkin": "Check-in", "household": "Same household", "interview": "Interview"},
    CaseChange: {
        "reported": "Reported",
        "classification": "Classification",
        "severity": "Severity",
        "onset": "Symptom onset",
        "sampled": "First positive sampling",
        "isolated": "Isolated",
        "treated_at": "Treated at",
        "outcome": "Outcome",
        "traced": "Traced",
    },
    ContactChange: {
        "proposed": "Proposed",
        "confirmed": "Confirmed",
        "dismissed": "Dismissed",
        "follow_up": "Follow-up",
        "note": "Note",
        "became_case": "Became a case",
    },
}
