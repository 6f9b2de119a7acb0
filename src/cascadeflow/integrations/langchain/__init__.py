"""LangChain / LangGraph: ``CascadeChatModel`` and ``CascadeflowCallbackHandler`` (``pip install
"cascadeflow[langchain]"``). Importing this module imports ``langchain_core``; ``import cascadeflow`` does not."""

from __future__ import annotations

from cascadeflow.integrations.langchain.callbacks import CascadeflowCallbackHandler
from cascadeflow.integrations.langchain.chat_model import CascadeChatModel
from cascadeflow.integrations.langchain.messages import to_cascade_messages

__all__ = ["CascadeChatModel", "CascadeflowCallbackHandler", "to_cascade_messages"]
