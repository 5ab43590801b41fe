"""Cases, contacts, transmission chains. The template domain: copy this file first."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="cases",
    models=("fangkong.cases.models",),
    api=("fangkong.cases.views:router",),
    pages=(
        "fangkong.cases.pages:router",
        "fangkong.cases.pages_contacts:router",
        "fangkong.cases.pages_chain:router",
        "fangkong.cases.pages_assist:router",
    ),
    cli="fangkong.cases.cli:register",
)
