"""The paper digest assistant: cited answers, comparisons and weekly digests over daily ML paper lists."""

__version__ = "0.1.0"
