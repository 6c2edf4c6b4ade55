"""``Pregel.invoke``/``stream`` on the Rust engine (``ainvoke``/``astream``:
:mod:`langgraph_rs._engine_async`).

The run setup (defaults, callbacks, stream handlers, runtime) mirrors
LangGraph's (:mod:`langgraph_rs._run_setup`). A sync run's superstep loop is
native (``_native.SyncSteps``, rust/py/sync_driver.rs) and ``invoke`` collects
its chunks natively. The run's state lives in the native
``State`` (planning, writes, checkpoints), its bookkeeping in
:mod:`langgraph_rs._loop`.
"""

from __future__ import annotations

import operator
import warnings
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from langchain_core.callbacks.manager import CallbackManagerForChainRun
from langgraph.callbacks import (
    GraphResumeEvent,
    get_sync_graph_callback_manager_for_config,
)

from langgraph_rs import _native
from langgraph_rs._errors import UnsupportedFeatureError
from langgraph_rs._loop import _Loop
from langgraph_rs._notify import _Notify
from langgraph_rs._sync_loop import _SyncLoop
from langgraph_rs._run_setup import ENDS_WITH_ERROR, _Run
from langgraph_rs._spec import GraphSpec, spec_for

_global_fallback: str | None = None


def set_global_fallback(fallback: str | None) -> None:
    global _global_fallback
    _global_fallback = fallback


#: LangGraph's own ``Pregel.stream``/``astream`` while the engine is installed
#: in their place (set by the facade)
_stock_methods: dict[str, Any] | None = None


def set_stock_methods(methods: dict[str, Any] | None) -> None:
    global _stock_methods
    _stock_methods = methods


def _stock(name: str) -> Any:
    if _stock_methods is not None:
        return _stock_methods[name]
    from langgraph.pregel import Pregel

    return getattr(Pregel, name)


def _spec_or_fallback(graph: Any) -> GraphSpec | None:
    """The graph's spec, or None when it must run on LangGraph (fallback asked for)."""
    try:
        return spec_for(graph)
    except UnsupportedFeatureError as exc:
        fallback = getattr(graph, "_langgraph_rs_fallback", None) or _global_fallback
        if fallback == "langgraph":
            warnings.warn(
                f"{exc}; running this graph on LangGraph's executor (fallback='langgraph')",
                stacklevel=3,
            )
            return None
        raise


def _lifecycle_calls(loop: _Loop, manager: Any) -> Iterator[Any]:
    """The graph callback calls (resume/interrupt) the loop has queued.
    ``manager`` None: the config has no callbacks, so LangGraph's graph
    callback manager would have no handler: the events are dropped."""
    while (event := loop.pop_lifecycle_event()) is not None:
        if manager is None:
            continue
        event = replace(event, run_id=manager.run_id)
        if isinstance(event, GraphResumeEvent):
            yield manager.on_resume(event)
        else:
            yield manager.on_interrupt(event)


def _run_lifecycle(loop: _Loop, graph_callbacks: Any) -> None:
    for _ in _lifecycle_calls(loop, graph_callbacks):
        pass


def _start_sync(
    run: _Run, q: deque, interrupts_only: bool = False
) -> tuple[Any, Any, _SyncLoop]:
    """A sync run up to its loop: callbacks, ``on_chain_start``, stream handlers.
    ``run.run_manager`` is set as soon as the chain run started."""
    callback_manager = run.configure(False)
    # on_chain_start, natively when no handler is called (rust/py/callbacks.rs)
    run_manager = _native.chain_run_manager(callback_manager, run.config.get("run_id"))
    if run_manager is None:
        args, kw = run.chain_start_args()
        run_manager = callback_manager.on_chain_start(*args, **kw)
    run.run_manager = run_manager
    # no callbacks in the config: LangGraph's graph callback manager has no
    # handler and its calls do nothing; None stands for it (_lifecycle_calls)
    graph_callbacks = (
        None
        if run.config.get("callbacks") is None
        else get_sync_graph_callback_manager_for_config(run.config, run_id=run_manager.run_id)
    )
    run.started(run_manager, partial(_Notify, q.append, partial(operator.not_, q)), q.popleft, IndexError)
    # a stream that is not eager wakes no one: its put is the queue's
    loop = run.make_loop(_SyncLoop, run.put if run.eager else q.append, interrupts_only)
    return run_manager, graph_callbacks, loop


def _steps(graph: Any, run: _Run, loop: _SyncLoop, q: deque, callbacks: Any) -> Any:
    """Inside the loop: the superstep loop (rust/py/sync_driver.rs), iterated
    for the chunks it streams."""
    if run.stream_handlers or run.subgraphs:
        run.entered(loop)
    if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
        _run_lifecycle(loop, callbacks)
    return _native.SyncSteps(
        loop, q, run.queued, graph.step_timeout,
        run.put if run.eager else None, partial(_run_lifecycle, loop, callbacks),
    )


def stream(
    self: Any,
    input: Any,
    config: Any = None,
    *,
    context: Any = None,
    stream_mode: Any = None,
    print_mode: Any = (),
    output_keys: Any = None,
    interrupt_before: Any = None,
    interrupt_after: Any = None,
    durability: Any = None,
    control: Any = None,
    subgraphs: bool = False,
    debug: Any = None,
    version: str = "v1",
    **kwargs: Any,
) -> Iterator[Any]:
    """``Pregel.stream`` on the Rust engine."""
    opts = {
        "context": context, "stream_mode": stream_mode, "print_mode": print_mode,
        "output_keys": output_keys, "interrupt_before": interrupt_before,
        "interrupt_after": interrupt_after, "durability": durability, "control": control,
        "subgraphs": subgraphs, "debug": debug, "version": version,
    }
    spec = _native.cached_spec(self) or _spec_or_fallback(self)
    if spec is None:
        yield from _stock("stream")(self, input, config, **opts, **kwargs)
        return
    run = _Run(self, spec, input, config, opts, kwargs)
    # the chunks the run streams (from worker threads too: deque appends and
    # pops are atomic), read by ``run.output`` as LangGraph's ``_output`` reads its queue
    q: deque = deque()
    try:
        run_manager, graph_callbacks, loop = _start_sync(run, q)
        with loop:
            yield from _steps(self, run, loop, q, graph_callbacks)
        if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
            _run_lifecycle(loop, graph_callbacks)
        yield from run.queued()
        if loop.status in ENDS_WITH_ERROR:
            run.finish(loop)
        if run_manager.handlers or type(run_manager) is not CallbackManagerForChainRun:
            run_manager.on_chain_end(loop.output)  # (else it calls nobody)
    except BaseException as e:
        if run.run_manager is not None:
            run.run_manager.on_chain_error(e)
        raise


def invoke(
    self: Any,
    input: Any,
    config: Any = None,
    *,
    context: Any = None,
    stream_mode: Any = "values",
    print_mode: Any = (),
    output_keys: Any = None,
    interrupt_before: Any = None,
    interrupt_after: Any = None,
    durability: Any = None,
    control: Any = None,
    version: str = "v1",
    **kwargs: Any,
) -> Any:
    """``Pregel.invoke`` on the Rust engine: as LangGraph's, which collects what
    ``stream`` yields, with the chunks collected natively as the steps make them
    (no generator between)."""
    output_keys = output_keys if output_keys is not None else self.output_channels
    # v1 "values": "updates" are streamed only for their interrupts (a caller's
    # own ["updates", "values"] wants every chunk). Inline, as in _engine_async.ainvoke: no
    # Python frame of the engine's per call
    interrupts_only = version != "v2" and stream_mode == "values"
    if version == "v2":
        mode = "values" if stream_mode == "values" else stream_mode
    else:
        mode = ["updates", "values"] if interrupts_only else stream_mode
    out = _native.InvokeOutput(stream_mode, version)
    opts = {
        "context": context, "stream_mode": mode, "print_mode": print_mode,
        "output_keys": output_keys, "interrupt_before": interrupt_before,
        "interrupt_after": interrupt_after, "durability": durability, "control": control,
    }
    if version == "v2":
        opts["version"] = version
    spec = (
        _native.cached_spec(self) or _spec_or_fallback(self) if type(self).stream is stream else None
    )
    if spec is None:  # LangGraph's executor, or a subclass's own stream
        chunks = (
            self.stream(input, config, **opts, **kwargs)
            if type(self).stream is not stream
            else _stock("stream")(self, input, config, **opts, **kwargs)
        )
        for chunk in chunks:
            out(chunk)
        return out.result()
    opts["subgraphs"] = kwargs.pop("subgraphs", False)
    opts["debug"] = kwargs.pop("debug", None)
    opts["version"] = "v2" if version == "v2" else "v1"
    run = _Run(self, spec, input, config, opts, kwargs)
    q: deque = deque()
    try:
        run_manager, graph_callbacks, loop = _start_sync(run, q, interrupts_only)
        with loop:
            for chunk in _steps(self, run, loop, q, graph_callbacks):
                out(chunk)
        if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
            _run_lifecycle(loop, graph_callbacks)
        for chunk in run.queued():
            out(chunk)
        if loop._values_pending:  # (the last "values" chunk, made now)
            out(("values", loop.state.read_output(loop.output_keys)))
        if loop.status in ENDS_WITH_ERROR:
            run.finish(loop)
        if run_manager.handlers or type(run_manager) is not CallbackManagerForChainRun:
            run_manager.on_chain_end(loop.output)  # (else it calls nobody)
    except BaseException as e:
        if run.run_manager is not None:
            run.run_manager.on_chain_error(e)
        raise
    return out.result()

