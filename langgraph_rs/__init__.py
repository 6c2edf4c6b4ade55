"""langgraph-rs: run LangGraph graphs on a Rust Pregel engine.

    import langgraph_rs
    langgraph_rs.install()        # every Pregel/CompiledStateGraph in the process
    app = langgraph_rs.compile(builder, checkpointer=saver)   # or one graph

The graph object stays LangGraph's own (``CompiledStateGraph``/``Pregel``); only
its ``stream``/``astream`` (through which ``invoke``/``batch``/``ainvoke``/... and
nested subgraph calls route) are driven by the Rust engine.
"""

from __future__ import annotations

from langgraph_rs._errors import UnsupportedFeatureError
from langgraph_rs._facade import (
    compile,
    install,
    is_installed,
    uninstall,
)
from langgraph_rs._native import EngineError

__all__ = [
    "EngineError",
    "UnsupportedFeatureError",
    "compile",
    "install",
    "is_installed",
    "uninstall",
]
__version__ = "0.1.0"
