"""``Pregel.stream``/``Pregel.astream`` on the Rust engine.

The run setup (defaults, callbacks, stream handlers, runtime) mirrors
LangGraph's; the loop itself is :mod:`langgraph_rs._loop`: per superstep the
native ``State`` plans the tasks (ids, triggers, inputs), Python runs the node
callables, and the native ``State`` applies their writes and assembles the
checkpoint.
"""

from __future__ import annotations

import asyncio
import operator
import warnings
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from functools import partial
from typing import Any

from langgraph._internal._config import (
    ensure_config,
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_DURABILITY,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_STREAM,
    CONFIG_KEY_TASK_ID,
    NS_SEP,
)
from langgraph._internal._queue import AsyncQueue  # type: ignore[attr-defined]
from langgraph._internal._runnable import _is_stream_handler
from langgraph.callbacks import GraphResumeEvent
from langgraph.config import get_config
from langgraph.errors import (
    GraphRecursionError,
    ErrorCode,
    create_error_message,
)
from langgraph.pregel._messages import StreamMessagesHandler
from langgraph.pregel._tools import StreamToolCallHandler
from langgraph.pregel.main import (
    _build_server_info,
    _coerce_context,
    _coerce_parent_runtime,
    _streams_only_its_graph,
)
from langgraph.pregel.protocol import StreamProtocol
from langgraph.runtime import DEFAULT_RUNTIME, Runtime

from langgraph_rs import _native
from langgraph_rs._errors import UnsupportedFeatureError
from langgraph_rs._loop import _AsyncLoop, _Loop, _Notify, _SyncLoop
from langgraph_rs._spec import GraphSpec, spec_for

try:  # LangGraph >= 1.2 run control
    from langgraph.runtime import RunControl
except ImportError:  # pragma: no cover
    RunControl = None  # type: ignore[assignment,misc]

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


# ---------------------------------------------------------------------------
# A read-only Mapping view of the Rust channels, for LangGraph's output helpers


def _recursion_error(config: dict) -> GraphRecursionError:
    return GraphRecursionError(
        create_error_message(
            message=(
                f"Recursion limit of {config['recursion_limit']} reached "
                "without hitting a stop condition. You can increase the "
                "limit by setting the `recursion_limit` config key."
            ),
            error_code=ErrorCode.GRAPH_RECURSION_LIMIT,
        )
    )


class _Run:
    """What ``Pregel.stream``/``astream`` set up around the loop (shared by both)."""

    def __init__(
        self, graph: Any, spec: GraphSpec, input: Any, config: Any, opts: dict, kwargs: dict
    ) -> None:
        from langgraph.errors import LangGraphDeprecatedSinceV10

        self.graph = graph
        self.spec = spec
        self.input = input
        self.context = opts["context"]
        self.control = opts["control"]
        self.subgraphs = opts["subgraphs"]
        self.version = opts["version"]
        durability = opts["durability"]
        if (checkpoint_during := kwargs.get("checkpoint_during")) is not None:
            warnings.warn(
                "`checkpoint_during` is deprecated and will be removed. Please use `durability` instead.",
                category=LangGraphDeprecatedSinceV10,
                stacklevel=4,
            )
            if durability is not None:
                raise ValueError(
                    "Cannot use both `checkpoint_during` and `durability` parameters. Please use `durability` instead."
                )
            durability = "async" if checkpoint_during else "exit"
        self.durability = durability
        stream_mode = opts["stream_mode"]
        if stream_mode is None:
            stream_mode = (
                "values"
                if config is not None and CONFIG_KEY_TASK_ID in config.get(CONF, {})
                else graph.stream_mode
            )
        self.stream_mode = stream_mode
        self.print_mode = (
            ["updates", "values"] if opts["debug"] or graph.debug else opts["print_mode"]
        )
        self.config = ensure_config(graph.config, config)
        self.opts = opts

    def defaults(self) -> None:
        """``Pregel._defaults`` (raises on a bad config before any callback runs)."""
        (
            self.stream_modes,
            self.output_keys,
            self.interrupt_before,
            self.interrupt_after,
            self.checkpointer,
            self.store,
            self.cache,
            self.durability_,
        ) = self.graph._defaults(
            self.config,
            stream_mode=self.stream_mode,
            print_mode=self.print_mode,
            output_keys=self.opts["output_keys"],
            interrupt_before=self.opts["interrupt_before"],
            interrupt_after=self.opts["interrupt_after"],
            durability=self.durability,
        )

    def filter_handlers(self, callback_manager: Any) -> None:
        from langgraph.pregel._messages import StreamMessagesHandlerV2

        if "messages" in self.stream_modes and self.version != "v2":
            callback_manager.handlers = [
                h for h in callback_manager.handlers if not isinstance(h, StreamMessagesHandlerV2)
            ]
            callback_manager.inheritable_handlers = [
                h
                for h in callback_manager.inheritable_handlers
                if not isinstance(h, StreamMessagesHandlerV2)
            ]
        if CONFIG_KEY_TASK_ID not in self.config[CONF]:
            callback_manager.handlers = [
                h for h in callback_manager.handlers if not _streams_only_its_graph(h)
            ]
            callback_manager.inheritable_handlers = [
                h
                for h in callback_manager.inheritable_handlers
                if not _streams_only_its_graph(h)
            ]
        if "ls_integration" not in callback_manager.metadata:
            callback_manager.add_metadata({"ls_integration": "langgraph"})

    def chain_start_args(self) -> tuple[tuple, dict]:
        return (None, self.input), {
            "name": self.config.get("run_name", self.graph.get_name()),
            "run_id": self.config.get("run_id"),
        }

    def started(self, run_manager: Any, put: _Notify) -> None:
        """After ``on_chain_start``: stream handlers, runtime, mappers."""
        from langgraph._internal._constants import CONFIG_KEY_STREAM_MESSAGES_V2
        from langgraph.pregel._messages import StreamMessagesHandlerV2

        self.run_manager = run_manager
        if self.checkpointer is None and self.durability is not None:
            warnings.warn("`durability` has no effect when no checkpointer is present.")
        self.config = config = self.graph._own_checkpoint_config(self.config)
        handlers: list = []
        if "messages" in self.stream_modes:
            use_v2 = bool(
                self.version == "v2" and config[CONF].get(CONFIG_KEY_STREAM_MESSAGES_V2)
            )
            cls = StreamMessagesHandlerV2 if use_v2 else StreamMessagesHandler
            handlers.append(cls(put, self.subgraphs))
        if "tools" in self.stream_modes:
            handlers.append(StreamToolCallHandler(put, self.subgraphs))
        run_manager.inheritable_handlers.extend(handlers)
        self.stream_handlers = handlers
        self._setup_runtime(put)
        self.output_mapper = self.graph._output_mapper if self.version == "v2" else None
        self.state_mapper = self.graph._state_mapper if self.version == "v2" else None
        self.eager = bool(
            self.graph.stream_eager
            or self.subgraphs
            or "messages" in self.stream_modes
            or "custom" in self.stream_modes
        )

    def _setup_runtime(self, put: _Notify) -> None:
        config = self.config
        if "custom" in self.stream_modes:

            def stream_writer(c: Any) -> None:
                put(
                    (
                        tuple(get_config()[CONF][CONFIG_KEY_CHECKPOINT_NS].split(NS_SEP)[:-1]),
                        "custom",
                        c,
                    )
                )

        elif CONFIG_KEY_STREAM in config[CONF]:
            stream_writer = config[CONF][CONFIG_KEY_RUNTIME].stream_writer
        else:

            def stream_writer(c: Any) -> None:
                pass

        if self.durability is not None:
            config[CONF][CONFIG_KEY_DURABILITY] = self.durability_
        parent_runtime = _coerce_parent_runtime(
            config[CONF].get(CONFIG_KEY_RUNTIME, DEFAULT_RUNTIME)
        )
        runtime = Runtime(
            context=_coerce_context(self.graph.context_schema, self.context),
            store=self.store,
            stream_writer=stream_writer,
            previous=None,
            execution_info=None,
            server_info=_build_server_info(config, parent_runtime),
            control=self.control or parent_runtime.control or RunControl(),
        )
        config[CONF][CONFIG_KEY_RUNTIME] = parent_runtime.merge(runtime)

    def make_loop(self, cls: type, put: _Notify) -> Any:
        return cls(
            self.graph, self.spec, self.input,
            stream=StreamProtocol(put, self.stream_modes),
            config=self.config, store=self.store, cache=self.cache,
            checkpointer=self.checkpointer, output_keys=self.output_keys,
            interrupt_before=self.interrupt_before, interrupt_after=self.interrupt_after,
            manager=self.run_manager, durability=self.durability_,
        )

    def entered(self, loop: _Loop) -> None:
        for handler in self.stream_handlers:
            handler.parent_ns = loop.checkpoint_ns
        if self.subgraphs:
            loop.config[CONF][CONFIG_KEY_STREAM] = loop.stream

    def output(self, getter: Any, empty_exc: type) -> Iterator[Any]:
        return _native.stream_output(
            self.stream_mode, self.print_mode, self.subgraphs, getter, empty_exc,
            self.version, self.output_mapper, self.state_mapper,
        )

    def finish(self, loop: _Loop) -> None:
        """Raise for the statuses that end a run with an error."""
        if loop.status == "out_of_steps":
            raise _recursion_error(self.config)
        if loop.status == "draining":
            from langgraph.errors import GraphDrained

            raise GraphDrained(loop.control.drain_reason or "shutdown")


def _lifecycle_calls(loop: _Loop, manager: Any) -> Iterator[Any]:
    """The graph callback calls (resume/interrupt) the loop has queued."""
    while (event := loop.pop_lifecycle_event()) is not None:
        event = replace(event, run_id=manager.run_id)
        if isinstance(event, GraphResumeEvent):
            yield manager.on_resume(event)
        else:
            yield manager.on_interrupt(event)


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
    spec = _spec_or_fallback(self)
    if spec is None:
        yield from _stock("stream")(self, input, config, **opts, **kwargs)
        return
    from langgraph.callbacks import get_sync_graph_callback_manager_for_config

    run = _Run(self, spec, input, config, opts, kwargs)
    # the chunks the run streams (from worker threads too: deque appends and
    # pops are atomic), read by ``run.output`` as LangGraph's ``_output`` reads its queue
    q: deque = deque()
    put = _Notify(q.append, partial(operator.not_, q))
    run_manager = None
    try:
        run.defaults()
        callback_manager = get_callback_manager_for_config(run.config)
        run.filter_handlers(callback_manager)
        args, kw = run.chain_start_args()
        run_manager = callback_manager.on_chain_start(*args, **kw)
        graph_callbacks = get_sync_graph_callback_manager_for_config(
            run.config, run_id=run_manager.run_id
        )
        run.started(run_manager, put)
        loop = run.make_loop(_SyncLoop, put)
        with loop:
            run.entered(loop)
            if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
                for _ in _lifecycle_calls(loop, graph_callbacks):
                    pass
            notify = put if run.eager else None
            while loop.tick():
                for task in loop.match_cached_writes():
                    loop.put_writes(task.id, task.writes, cached=True)
                for _ in loop.run_tasks(self.step_timeout, notify):
                    yield from run.output(q.popleft, IndexError)
                loop.after_tick()
                if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
                    for _ in _lifecycle_calls(loop, graph_callbacks):
                        pass
                loop.raise_put_error()
        if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
            for _ in _lifecycle_calls(loop, graph_callbacks):
                pass
        yield from run.output(q.popleft, IndexError)
        run.finish(loop)
        run_manager.on_chain_end(loop.output)
    except BaseException as e:
        if run_manager is not None:
            run_manager.on_chain_error(e)
        raise


async def astream(
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
) -> AsyncIterator[Any]:
    """``Pregel.astream`` on the Rust engine."""
    opts = {
        "context": context, "stream_mode": stream_mode, "print_mode": print_mode,
        "output_keys": output_keys, "interrupt_before": interrupt_before,
        "interrupt_after": interrupt_after, "durability": durability, "control": control,
        "subgraphs": subgraphs, "debug": debug, "version": version,
    }
    spec = _spec_or_fallback(self)
    if spec is None:
        async for chunk in _stock("astream")(self, input, config, **opts, **kwargs):
            yield chunk
        return
    from langgraph.callbacks import get_async_graph_callback_manager_for_config

    run = _Run(self, spec, input, config, opts, kwargs)
    q = AsyncQueue()
    aioloop = asyncio.get_running_loop()

    def put_chunk(chunk: Any) -> None:
        # chunks may come from worker threads running sync nodes
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is aioloop:
            q.put_nowait(chunk)
        else:
            aioloop.call_soon_threadsafe(q.put_nowait, chunk)

    put = _Notify(put_chunk, q.empty, aioloop)
    run_manager = None
    try:
        run.defaults()
        callback_manager = get_async_callback_manager_for_config(run.config)
        run.filter_handlers(callback_manager)
        args, kw = run.chain_start_args()
        run_manager = await callback_manager.on_chain_start(*args, **kw)
        graph_callbacks = get_async_graph_callback_manager_for_config(
            run.config, run_id=run_manager.run_id
        )
        run.started(run_manager, put)
        loop = run.make_loop(_AsyncLoop, put)
        loop.use_astream = any(
            _is_stream_handler(h)
            and not isinstance(h, (StreamMessagesHandler, StreamToolCallHandler))
            for h in run_manager.handlers
        )
        async with loop:
            run.entered(loop)
            for call in _lifecycle_calls(loop, graph_callbacks):
                await call
            notify = put if run.eager else None
            while await loop.tick():
                for task in await loop.amatch_cached_writes():
                    loop.put_writes(task.id, task.writes, cached=True)
                await loop.flush_writes()
                async for _ in loop.run_tasks(self.step_timeout, notify):
                    # LangGraph's astream drains its queue here without awaiting: a
                    # subgraph runs on until its tasks really wait, before the
                    # subgraphs running beside it (which ids its checkpoints get)
                    if not loop.is_nested:
                        await asyncio.sleep(0)
                    for chunk in run.output(q.get_nowait, asyncio.QueueEmpty):
                        yield chunk
                await loop.after_tick()
                for call in _lifecycle_calls(loop, graph_callbacks):
                    await call
                loop.raise_put_error()
        for call in _lifecycle_calls(loop, graph_callbacks):
            await call
        await asyncio.sleep(0)
        for chunk in run.output(q.get_nowait, asyncio.QueueEmpty):
            yield chunk
        run.finish(loop)
        await run_manager.on_chain_end(loop.output)
    except BaseException as e:
        if run_manager is not None:
            await asyncio.shield(run_manager.on_chain_error(e))
        raise


