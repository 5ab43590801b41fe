"""Test results."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="testing",
    models=("fangkong.testing.models",),
    api=("fangkong.testing.views:router",),
    cli="fangkong.testing.cli:register",
)
