"""The resident registry."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="people",
    models=("fangkong.people.models",),
    api=("fangkong.people.views:router",),
    pages=("fangkong.people.pages:router",),
    cli="fangkong.people.cli:register",
)
