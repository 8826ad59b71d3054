"""The exception tree. Every error a user can meet says what went wrong and how to fix it.

The CLI maps `InputError` to exit code 2 and every other `AssistantError` to 1; the UI shows
`str(error)` in an `st.error`. Nothing else should escape to a user.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: a failure with a one-line message a user can act on."""


class InputError(AssistantError):
    """Bad input: a file, a field, a date or an argument. Exit code 2."""


class ConfigError(AssistantError):
    """A setting is missing or contradictory; the message names the setting."""


class StoreError(AssistantError):
    """The store (Chroma, the paper table or an index) cannot be used as asked."""


class LLMError(AssistantError):
    """The chat model could not answer: endpoint unreachable, refused, timed out or malformed."""


class EmbeddingError(AssistantError):
    """The embedder could not produce vectors."""


class PromptError(AssistantError):
    """A prompt file is missing or uses variables the code does not supply."""


class FetchError(AssistantError):
    """A remote source (Hugging Face, arXiv) could not be read; nothing was changed."""
