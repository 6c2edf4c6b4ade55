"""The errors the engine raises of its own (a leaf module: everything may import it)."""

from __future__ import annotations


class UnsupportedFeatureError(NotImplementedError):
    """A graph uses a LangGraph feature the Rust engine does not handle yet.

    Raised instead of silently running LangGraph's own executor. Pass
    ``fallback="langgraph"`` to ``install()``/``compile()`` to run such graphs on
    LangGraph's executor (with a warning) instead.
    """
