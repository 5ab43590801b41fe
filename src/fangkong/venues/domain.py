"""Venues, place codes, check-ins and their retention."""

from fangkong.core.domains import Domain, Job

DOMAIN = Domain(
    name="venues",
    models=("fangkong.venues.models",),
    first_api=("fangkong.venues.views:door_router",),
    api=("fangkong.venues.views:router",),
    pages=("fangkong.venues.pages:router", "fangkong.venues.operator_pages:router"),
    cli="fangkong.venues.cli:register",
    jobs=(
        Job(
            "check-in purge",
            run="fangkong.venues.jobs:purge_once",
            interval="checkin_purge_interval_seconds",
            done="purged %d check-ins past retention",
        ),
    ),
    setup="fangkong.venues.checkin_writer:install_writer",
)
