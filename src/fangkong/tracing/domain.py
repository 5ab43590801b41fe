"""Co-presence from check-ins."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="tracing",
    api=("fangkong.tracing.views:router",),
    cli="fangkong.tracing.cli:register",
)
