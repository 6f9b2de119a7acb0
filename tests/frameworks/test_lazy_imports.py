"""``import cascadeflow`` (and the documented ``from cascadeflow import CascadeAgent``) loads no framework."""

from __future__ import annotations

import json
import subprocess
import sys

FRAMEWORKS = frozenset({
    "langchain", "langchain_core", "langgraph", "agents", "openai", "pydantic_ai", "pydantic", "autogen_core",
    "autogen_agentchat", "autogen_ext", "crewai", "litellm",
})
PROBE = (
    "import sys, json\n"
    "import cascadeflow\n"
    "from cascadeflow import CascadeAgent, ModelConfig\n"
    "CascadeAgent(models=[ModelConfig(name='m', provider='openai', cost=0.001, base_url='http://127.0.0.1:9')])\n"
    "print(json.dumps(sorted(sys.modules)))\n"
)


def test_no_framework_is_imported_by_cascadeflow_or_a_built_agent() -> None:
    proc = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert {name.split(".")[0] for name in loaded} & FRAMEWORKS == set()
    assert not any(name.startswith("cascadeflow.integrations") for name in loaded)
