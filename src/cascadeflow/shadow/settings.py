"""Settings of shadow-mode self-calibration, each with the reason for its default."""

from __future__ import annotations

from dataclasses import dataclass

from cascadeflow.errors import ConfigError
from cascadeflow.validate import check_int, check_number


@dataclass(frozen=True)
class ShadowSettings:
    """What to hold, how sure to be, and how much to spend on learning it."""

    target_quality: float = 0.95
    """Share of answers that must agree with what the top tier would have answered. Online there is no other
    label, so the top tier's answer is the reference: where it is wrong and the draft right, the draft still
    counts as a loss (conservative where the top model is strong)."""
    delta: float = 0.1
    """Risk control: thresholds qualify only when the (1 - delta) upper bound of the disagreement rate they
    would let through stays within 1 - target."""
    max_rate: float = 0.2
    """Share of accepted drafts shadowed at first: one in five."""
    min_rate: float = 0.02
    """Share still shadowed once the estimate is tight: enough to notice drift, at ~2% of the top tier's cost."""
    half_labels: int = 10
    """Shadow labels after which the rate has halved (a third after twice as many, and so on)."""
    min_records: int = 40
    """Runs recorded before the first fit; until then (and whenever the fitted plan is not certified cheaper),
    the agent's configured validators decide."""
    refit_every: int = 20
    """New records between refits."""
    window: int = 5000
    """Most recent records a fit uses (older traffic may no longer look like today's)."""
    min_labels: int = 20
    """Labelled drafts a tier needs (with both agreeing and disagreeing ones) before it gets a fitted scorer."""
    l2: float = 1.0
    """Ridge penalty on standardised weights (scikit-learn's ``C = 1``)."""
    grid: int = 30
    """Candidate thresholds per tier (score quantiles)."""

    def __post_init__(self) -> None:
        check_number("ShadowSettings.target_quality", self.target_quality, lo=0.0, hi=1.0)
        if not 0.0 < self.delta < 1.0:
            raise ConfigError("ShadowSettings.delta", f"must be in (0, 1), got {self.delta!r}")
        check_number("ShadowSettings.max_rate", self.max_rate, hi=1.0)
        check_number("ShadowSettings.min_rate", self.min_rate, hi=self.max_rate)
        if self.min_rate <= 0:
            raise ConfigError("ShadowSettings.min_rate", "must be above 0: with no shadow calls nothing is learned")
        for name in ("min_records", "refit_every", "window", "min_labels", "grid", "half_labels"):
            check_int(f"ShadowSettings.{name}", getattr(self, name), lo=1)
        check_number("ShadowSettings.l2", self.l2)

    @property
    def budget(self) -> float:
        """The disagreement rate allowed: 1 - target."""
        return 1.0 - self.target_quality
