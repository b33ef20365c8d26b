"""Rule checks by family; importing this package registers every rule in `base.REGISTRY`."""

from . import orders, promotions, service, stock  # noqa: F401
from .base import REGISTRY, Context, Outcome, rule

__all__ = ["REGISTRY", "Context", "Outcome", "rule"]
