"""Adapters that put a :class:`~cascadeflow.CascadeAgent` under the agent frameworks people already use.

One subpackage per framework, each behind its own optional extra and imported only when you import it::

    from cascadeflow.integrations.langchain import CascadeChatModel          # pip install "cascadeflow[langchain]"
    from cascadeflow.integrations.openai_agents import CascadeModel          # "cascadeflow[openai-agents]"
    from cascadeflow.integrations.pydantic_ai import CascadePydanticModel    # "cascadeflow[pydantic-ai]"
    from cascadeflow.integrations.autogen import CascadeChatCompletionClient  # "cascadeflow[autogen]"
    from cascadeflow.integrations.crewai import CascadeCrewLLM               # "cascadeflow[crewai]"

This package itself imports nothing: ``import cascadeflow`` never loads a framework. The shared pieces
(decision metadata, the sync bridge, the run-governance seam) live in the private ``_``-modules and in
:mod:`cascadeflow.integrations.governance`.
"""
