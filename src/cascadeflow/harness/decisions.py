"""One decision record type for governance: what a policy decided about one call of a run, and whether it applied.

In ``observe`` mode every decision is recorded with ``applied=False`` (what enforcement *would* have done); in
``enforce`` mode the same decisions are recorded with ``applied=True`` and carried out. ``session.trace()``
returns them as dicts (``r['action']``, ``r['step']``, ``r['reason']``, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal, TypeAlias

DecisionAction: TypeAlias = Literal["allow", "warn", "stop", "switch_model", "deny_tool", "degrade"]
ACTIONS: Final[tuple[DecisionAction, ...]] = ("allow", "warn", "stop", "switch_model", "deny_tool", "degrade")
Mode: TypeAlias = Literal["off", "observe", "enforce"]
MODES: Final[tuple[Mode, ...]] = ("off", "observe", "enforce")


@dataclass(frozen=True, slots=True)
class Decision:
    """``step`` is the call's number in its run (1-based); ``cost`` the call's worst-case estimate when decided
    before it, its real cost when decided after; ``model`` the model the call was planned for (``to_model`` the
    one it was moved to, for ``switch_model``)."""

    step: int
    action: DecisionAction
    reason: str
    policy: str
    model: str
    cost: Decimal
    mode: Mode
    applied: bool
    run_id: str
    at: float
    """UNIX time of the decision."""
    to_model: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "action": self.action, "reason": self.reason, "policy": self.policy,
            "model": self.model, "to_model": self.to_model, "cost": float(self.cost), "mode": self.mode,
            "applied": self.applied, "run_id": self.run_id, "at": self.at,
        }
