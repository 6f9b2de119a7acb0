"""The quickstart: a two-tier cascade, cheap model first, the expensive one only when the draft is not good enough.

    pip install "cascadeflow[all]"
    export OPENAI_API_KEY=sk-...            # or put it in a .env file next to this script
    python examples/basic_usage.py          # add --verbose to see every step's decision
    # any OpenAI-compatible server works: OPENAI_BASE_URL=http://127.0.0.1:8089/v1 OPENAI_API_KEY=dummy ...
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from cascadeflow import CascadeAgent, ModelConfig, QualityConfig

QUERIES = [
    "What color is the sky?",  # trivial: the cheap draft is kept unless a check vetoes it
    "Explain why the sky is blue, step by step.",
    "Write a Python function that returns the n-th Fibonacci number.",
]


async def main(verbose: bool) -> None:
    if verbose:
        logging.basicConfig(level=logging.INFO, format="%(message)s")
    agent = CascadeAgent(
        models=[
            ModelConfig(name="gpt-4o-mini", provider="openai", cost=0.000375),  # USD per 1K tokens, blended
            ModelConfig(name="gpt-4o", provider="openai", cost=0.00625),
        ],
        quality_config=QualityConfig.for_cascade(),  # the default: accept drafts scoring 0.7 or more
        verbose=verbose,
    )
    total = 0.0
    accepted = 0
    async with agent:
        for query in QUERIES:
            result = await agent.run(query, max_tokens=150)
            total += result.total_cost
            accepted += result.draft_accepted
            print(f"\nQ: {query}\nA: {result.content.strip()[:200]}")
            print(f"model_used={result.model_used} draft_accepted={result.draft_accepted} "
                  f"cost=${result.total_cost:.6f} complexity={result.complexity}")
            print(f"why: {result.reason}")
    print(f"\nDraft acceptance rate: {accepted / len(QUERIES):.0%}; total cost ${total:.6f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="cascadeflow quickstart")
    parser.add_argument("--verbose", action="store_true", help="log every step's decision")
    asyncio.run(main(parser.parse_args().verbose))
