"""Health codes: cached colors from the facts, tokens, the door, appeals."""

from fangkong.core.domains import Domain, Job

DOMAIN = Domain(
    name="healthcode",
    models=("fangkong.healthcode.models",),
    first_routes=("fangkong.healthcode.door.fast_route:fast_verify_route",),
    api=("fangkong.healthcode.views:router",),
    pages=(
        "fangkong.healthcode.pages:router",
        "fangkong.healthcode.pages_appeals:router",
        "fangkong.healthcode.door.pages:router",
    ),
    cli="fangkong.healthcode.cli:register",
    jobs=(
        Job(
            "health-code refresh",
            run="fangkong.healthcode.jobs:refresh_due",
            interval="code_refresh_interval_seconds",
            done="recomputed %d health codes whose phase ended",
        ),
    ),
    subscriptions="fangkong.healthcode.subscriptions:subscribe",
)
