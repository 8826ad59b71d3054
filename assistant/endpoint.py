"""Where chat requests go, from settings alone: no model client imported.

Split from `assistant/llm.py` so that naming the model (the UI's status sidebar, `doctor`'s
first line) does not import openai and LangChain, slow imports at start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from assistant.config import Settings
from assistant.errors import ConfigError

DEFAULT_OPENAI_BASE_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
PLACEHOLDER_API_KEY = "not-needed"  # local servers (Ollama, llama.cpp) accept any key


@dataclass(frozen=True)
class Endpoint:
    """Where chat requests go. `api_key` is never part of repr() or of any message."""

    backend: str
    base_url: str
    model: str
    api_key: str = field(repr=False)
    context_size: int | None = None

    @property
    def label(self) -> str:
        if self.backend == "embedded":
            return f"embedded:{self.model}"
        return f"openai:{self.model}@{urlsplit(self.base_url).netloc.rpartition('@')[2]}"


def public_url(url: str) -> str:
    """`url` without user:password, query or fragment: safe to print."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}".rstrip("/")


def openai_endpoint(settings: Settings) -> Endpoint:
    """The `openai` backend's endpoint from settings alone; ConfigError when it is not fully given."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
    base_url = (settings.llm_base_url or "").strip()
    if not base_url:
        if not key:
            raise ConfigError(
                "ASSISTANT_LLM_BACKEND=openai needs an endpoint: set ASSISTANT_LLM_BASE_URL "
                "(e.g. http://127.0.0.1:11434/v1 for Ollama) or, for the OpenAI API itself, "
                "ASSISTANT_LLM_API_KEY (or OPENAI_API_KEY)"
            )
        base_url = DEFAULT_OPENAI_BASE_URL  # explicit: a key and no URL means api.openai.com
        model = settings.llm_model or DEFAULT_OPENAI_MODEL
    else:
        if urlsplit(base_url).scheme not in ("http", "https") or not urlsplit(base_url).hostname:
            raise ConfigError(
                f"ASSISTANT_LLM_BASE_URL={public_url(base_url)!r} is not an http(s) URL; "
                f"expected something like http://127.0.0.1:11434/v1"
            )
        if not settings.llm_model:
            raise ConfigError(
                f"set ASSISTANT_LLM_MODEL to the model name to use at {public_url(base_url)} "
                f"(e.g. qwen2.5:1.5b for Ollama)"
            )
        model = settings.llm_model
    return Endpoint("openai", base_url.rstrip("/"), model, key or PLACEHOLDER_API_KEY)


def model_label(settings: Settings) -> str:
    """A short, key-free name of the configured model, e.g. `openai:gpt-4o-mini@api.openai.com`."""
    if settings.llm_backend == "embedded":
        from assistant.local_model import MODEL_NAME

        return f"embedded:{MODEL_NAME}"
    return openai_endpoint(settings).label
