"""Accounts, roles over regions, sessions, API tokens, the audit trail."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="auth",
    models=("fangkong.auth.models", "fangkong.auth.audit_models"),
    api=("fangkong.auth.views:router",),
    pages=("fangkong.auth.pages:router",),
    cli="fangkong.auth.cli:register",
)
