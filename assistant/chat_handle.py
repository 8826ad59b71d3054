"""The chat model of one `Assistant`, started on first use and shared by its chains.

`Assistant` holds one and hands its `get` to the chains, so a chain asks for the model without
calling back into the service. A model passed in is used as it is; otherwise the first `get` builds
the configured one (`llm.make_chat_model`; the embedded model takes seconds to start). Apart from
`llm.py` so that opening the assistant does not import the OpenAI client.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from assistant.config import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel


class ChatHandle:
    """One chat model, built at most once, safe to share between threads."""

    def __init__(self, settings: Settings, model: BaseChatModel | None = None) -> None:
        self.settings = settings
        self._model = model
        self._lock = threading.Lock()

    def get(self) -> BaseChatModel:
        """The model, started on the first call."""
        with self._lock:
            if self._model is None:
                from assistant.llm import make_chat_model

                self._model = make_chat_model(self.settings)
            return self._model
