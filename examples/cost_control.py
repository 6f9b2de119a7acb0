"""Cost control: per-user budgets with your own enforcement logic, on a single model or a cascade, and exports.

    python examples/cost_control.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from cascadeflow import (
    BudgetConfig,
    BudgetExceededError,
    CascadeAgent,
    CostTracker,
    EnforcementCallbacks,
    EnforcementContext,
    ModelConfig,
)

SUBSCRIPTIONS = {"user_free": "free", "user_pro": "pro"}  # stands in for your user database


def my_enforcement_logic(ctx: EnforcementContext) -> tuple[str, str | None]:
    """Your rules, your user system: block free users at their limit, degrade pro users near theirs."""
    plan = SUBSCRIPTIONS.get(ctx.user_id or "", "free")
    if plan == "free" and ctx.budget_remaining <= 0:
        return "block", "Upgrade to Pro"
    if plan == "pro" and ctx.budget_remaining < 0.10:
        return "degrade", "Switching to cheaper models"
    return "allow", None


async def main() -> None:
    tracker = CostTracker(
        user_budgets={"user_free": BudgetConfig(daily=0.00005), "user_pro": BudgetConfig(daily=10.00)},
        enforcement_callbacks=EnforcementCallbacks(on_budget_check=my_enforcement_logic),
    )
    agent = CascadeAgent(
        models=[ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),
                ModelConfig(name="gpt-4o", provider="openai", cost=0.00625)],
        cost_tracker=tracker,
    )
    async with agent:
        for user in ("user_pro", "user_free", "user_free", "user_free"):
            try:
                result = await agent.run("Name one planet.", max_tokens=20, user_id=user)
                print(f"{user}: model_used={result.model_used} draft_accepted={result.draft_accepted} "
                      f"cost=${result.total_cost:.6f}")
            except BudgetExceededError as exc:
                print(f"{user}: blocked ({exc})")
    print(f"spent today: pro ${tracker.spent('user_pro', 'daily')}, free ${tracker.spent('user_free', 'daily')}")
    with tempfile.TemporaryDirectory() as out:
        rows = tracker.export_json(Path(out) / "costs.json")
        tracker.export_csv(Path(out) / "costs.csv")
        tracker.export_sqlite(Path(out) / "costs.db")
        print(f"exported {rows} call records to JSON, CSV and SQLite")


if __name__ == "__main__":
    asyncio.run(main())
