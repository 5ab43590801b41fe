"""Policy editions and the edition in force."""

from fangkong.core.domains import Domain

DOMAIN = Domain(
    name="policy",
    cli="fangkong.policy.cli:register",
)
