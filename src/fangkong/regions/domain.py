"""The region tree (city → district → street → community → grid) and households."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="regions",
    models=("fangkong.regions.models",),
    api=("fangkong.regions.views:router",),
    cli="fangkong.regions.cli:register",
)
