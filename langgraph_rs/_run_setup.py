"""What ``Pregel.stream``/``astream`` set up around the loop, as LangGraph
sets it up: config defaults, stream modes and handlers, the callback run, the
runtime and context, the output mappers, and how a run's status ends it.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable
from functools import partial
from typing import Any

from langchain_core.callbacks.manager import AsyncCallbackManagerForChainRun
from langgraph._internal._config import (
    get_async_callback_manager_for_config,
    get_callback_manager_for_config,
)
from langgraph._internal._constants import (
    CONF,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_DURABILITY,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_STREAM,
    CONFIG_KEY_STREAM_MESSAGES_V2,
    CONFIG_KEY_TASK_ID,
    NS_SEP,
)
from langgraph.config import get_config
from langgraph.errors import (
    ErrorCode,
    GraphRecursionError,
    LangGraphDeprecatedSinceV10,
    create_error_message,
)
from langgraph.pregel._messages import StreamMessagesHandler, StreamMessagesHandlerV2
from langgraph.pregel._tools import StreamToolCallHandler
from langgraph.pregel.main import (
    _streams_only_its_graph,
)

from langgraph_rs import _native
from langgraph_rs._loop import _Loop
from langgraph_rs._notify import _set_done
from langgraph_rs._spec import GraphSpec


# the statuses a run ends in that raise (``_Run.finish``)
ENDS_WITH_ERROR = frozenset({"out_of_steps", "draining"})


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


_ACHAIN_END = AsyncCallbackManagerForChainRun.on_chain_end


def _discard(c: Any) -> None:
    """The stream writer of a run that streams no custom chunks."""


def achain_end(run_manager: Any, output: Any) -> Awaitable:
    """``run_manager.on_chain_end(output)`` of an async run. With no handler,
    langchain-core's shielded call does nothing but take three turns of the
    event loop: a task runs the empty call, its done callback resolves the
    shield, which wakes the caller. Those turns are taken here without the
    task and its coroutines (same turns, so concurrent runs interleave as on
    stock); unless a task factory makes tasks differently (eager tasks)."""
    if run_manager.handlers or type(run_manager).on_chain_end is not _ACHAIN_END:
        return run_manager.on_chain_end(output)
    loop = asyncio.get_running_loop()
    if loop.get_task_factory() is not None:
        return run_manager.on_chain_end(output)
    fut = loop.create_future()
    loop.call_soon(loop.call_soon, _set_done, fut)
    return fut


class _Run:
    """What ``Pregel.stream``/``astream`` set up around the loop (shared by both)."""

    def __init__(
        self, graph: Any, spec: GraphSpec, input: Any, config: Any, opts: dict, kwargs: dict
    ) -> None:
        self.graph = graph
        self.spec = spec
        self.run_manager: Any = None  # the chain run, once started
        self.put: Any = None  # the stream put that wakes the driver (``started``)
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
        self.config = _native.ensure_config(graph.config, config)  # (rust/py/run_config.rs)
        self.opts = opts
        # () -> the chunks still queued, shaped for the caller (set by ``started``)
        self.queued: Any = None

    def configure(self, is_async: bool) -> Any:
        """``Pregel._defaults`` (raises on a bad config before any callback
        runs), then the run's callback manager: made natively when no rule of
        langchain-core or langsmith adds a handler (rust/py/callback_config.rs),
        else langchain-core's, filtered as LangGraph's stream filters it."""
        (
            self.stream_modes,
            self.output_keys,
            self.interrupt_before,
            self.interrupt_after,
            self.checkpointer,
            self.store,
            self.cache,
            self.durability_,
        ) = _native.run_defaults(  # (rust/py/run_defaults.rs)
            self.graph,
            self.spec.channels_asis,
            self.config,
            self.stream_mode,
            self.print_mode,
            self.opts["output_keys"],
            self.opts["interrupt_before"],
            self.opts["interrupt_after"],
            self.durability,
        )
        callback_manager = _native.plain_callback_manager(self.config, is_async)
        if callback_manager is None:
            callback_manager = (
                get_async_callback_manager_for_config if is_async else get_callback_manager_for_config
            )(self.config)
            # (with no handler the lists would only be replaced by new empty ones)
            if callback_manager.handlers or callback_manager.inheritable_handlers:
                self._filter_handlers(callback_manager)
            if "ls_integration" not in callback_manager.metadata:
                callback_manager.add_metadata({"ls_integration": "langgraph"})
        return callback_manager

    def _filter_handlers(self, callback_manager: Any) -> None:
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

    def chain_start_args(self) -> tuple[tuple, dict]:
        return (None, self.input), {
            "name": self.config.get("run_name", self.graph.get_name()),
            "run_id": self.config.get("run_id"),
        }

    def started(self, run_manager: Any, make_put: Any, getter: Any, empty_exc: type) -> None:
        """After ``on_chain_start``: stream handlers, runtime, mappers, and
        ``queued``: the run's queued chunks, read with ``getter`` (raising
        ``empty_exc`` when none is left), shaped for the caller. ``put``: the
        stream put that wakes the driver (``make_put()``, a ``_Notify``), made
        only for a stream that hands chunks out eagerly or to a handler."""
        self.run_manager = run_manager
        if self.checkpointer is None and self.durability is not None:
            warnings.warn("`durability` has no effect when no checkpointer is present.")
        config = self.config
        if self.graph.checkpointer is True:  # (else it is the config itself)
            self.config = config = self.graph._own_checkpoint_config(config)
        self.eager = bool(
            self.graph.stream_eager
            or self.subgraphs
            or "messages" in self.stream_modes
            or "custom" in self.stream_modes
        )
        self.put = put = make_put() if self.eager or "tools" in self.stream_modes else None
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
        self.stream_handlers = handlers or ()  # (no list kept for the run when none)
        # the run's runtime (rust/py/run_start.rs)
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
            stream_writer = _discard
        if self.durability is not None:
            config[CONF][CONFIG_KEY_DURABILITY] = self.durability_
        config[CONF][CONFIG_KEY_RUNTIME] = _native.run_runtime(
            config, self.graph.context_schema, self.context, self.store, stream_writer,
            self.control,
        )
        self.output_mapper = self.graph._output_mapper if self.version == "v2" else None
        self.state_mapper = self.graph._state_mapper if self.version == "v2" else None
        # () -> the queued chunks (made without a Python frame)
        self.queued = partial(
            _native.stream_output, self.stream_mode, self.print_mode, self.subgraphs, getter,
            empty_exc, self.version, self.output_mapper, self.state_mapper,
        )

    def make_loop(self, cls: type, put: Any, interrupts_only: bool = False) -> Any:
        """The run's loop. ``interrupts_only``: invoke/ainvoke read the run's
        "updates" only for interrupts; unless a parent streams them or they
        are printed, a task's ordinary updates chunk is then not made."""
        loop = cls(
            self.graph, self.spec, self.input,
            stream=_native.stream_protocol(put, self.stream_modes),
            config=self.config, store=self.store, cache=self.cache,
            checkpointer=self.checkpointer, output_keys=self.output_keys,
            interrupt_before=self.interrupt_before, interrupt_after=self.interrupt_after,
            manager=self.run_manager, durability=self.durability_,
        )
        if interrupts_only and CONFIG_KEY_STREAM not in self.config[CONF]:
            loop._updates_for_interrupts = "updates" not in self.print_mode
            # invoke/ainvoke keep only the last "values" chunk: when nothing
            # else reads them and the output channels change only when
            # written, it is made once, at the end (``_Loop._values_pending``)
            keys = self.output_keys
            loop._values_at_end = "values" not in self.print_mode and (
                keys in self.spec.stable if isinstance(keys, str) else self.spec.stable.issuperset(keys)
            )
        return loop

    def entered(self, loop: _Loop) -> None:
        """Inside the loop, when the run has stream handlers or streams its subgraphs."""
        for handler in self.stream_handlers:
            handler.parent_ns = loop.checkpoint_ns
        if self.subgraphs:
            loop.config[CONF][CONFIG_KEY_STREAM] = loop.stream

    def finish(self, loop: _Loop) -> None:
        """Raise for the statuses that end a run with an error (``ENDS_WITH_ERROR``)."""
        if loop.status == "out_of_steps":
            raise _recursion_error(self.config)
        if loop.status == "draining":
            from langgraph.errors import GraphDrained

            raise GraphDrained(loop.control.drain_reason or "shutdown")
