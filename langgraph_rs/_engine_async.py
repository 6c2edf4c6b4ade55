"""``Pregel.ainvoke``/``astream`` on the Rust engine.

The run setup is a sync run's (:mod:`langgraph_rs._run_setup`); the driver is
``astream`` with :mod:`langgraph_rs._async_loop`: per superstep the native
``tick_prelude``/``tasks_to_run``/``after_tick`` (rust/py/tick.rs), and a
step's one task awaited natively (rust/py/retry_async.rs) or several run as
asyncio tasks (``_AsyncLoop.run_tasks``).
"""

from __future__ import annotations

import asyncio
import operator
from collections import deque
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

from langgraph._internal._constants import CONFIG_KEY_CALL
from langgraph._internal._runnable import _is_stream_handler
from langgraph.callbacks import get_async_graph_callback_manager_for_config
from langgraph.pregel._messages import StreamMessagesHandler
from langgraph.pregel._tools import StreamToolCallHandler

from langgraph_rs import _native
from langgraph_rs._async_loop import _AsyncLoop
from langgraph_rs._engine import _lifecycle_calls, _spec_or_fallback, _stock
from langgraph_rs._notify import _Notify
from langgraph_rs._run_setup import ENDS_WITH_ERROR, _Run, achain_end

_INTERRUPTS_ONLY = "_langgraph_rs_updates_for_interrupts"
_SINK = "_langgraph_rs_invoke_output"


async def ainvoke(
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
    """``Pregel.ainvoke`` on the Rust engine: as LangGraph's, which collects what
    ``astream`` yields, with the chunks collected natively (``InvokeOutput``) and,
    when "updates" are streamed only to find interrupts, no ordinary updates made."""
    output_keys = output_keys if output_keys is not None else self.output_channels
    # v1 "values": "updates" are streamed only for their interrupts (a caller's
    # own ["updates", "values"] wants every chunk). Inline, as in _engine.invoke: no
    # Python frame of the engine's per call
    interrupts_only = version != "v2" and stream_mode == "values"
    if version == "v2":
        mode = "values" if stream_mode == "values" else stream_mode
    else:
        mode = ["updates", "values"] if interrupts_only else stream_mode
    out = _native.InvokeOutput(stream_mode, version)
    if type(self).astream is astream:
        # the chunks go to ``out`` as they are made: ``astream`` yields none
        # (its generator is not resumed per step)
        kwargs[_SINK] = out
        if interrupts_only:
            kwargs[_INTERRUPTS_ONLY] = True
    async for chunk in self.astream(
        input, config, context=context, stream_mode=mode, print_mode=print_mode,
        output_keys=output_keys, interrupt_before=interrupt_before,
        interrupt_after=interrupt_after, durability=durability, control=control,
        version=version, **kwargs,
    ):
        out(chunk)
    return out.result()


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
    # set by ainvoke: its "updates" are read for interrupts only
    interrupts_only = kwargs.pop(_INTERRUPTS_ONLY, False)
    sink = kwargs.pop(_SINK, None)  # set by ainvoke: where the chunks go instead
    spec = _native.cached_spec(self) or _spec_or_fallback(self)
    if spec is None:
        async for chunk in _stock("astream")(self, input, config, **opts, **kwargs):
            yield chunk
        return
    run = _Run(self, spec, input, config, opts, kwargs)
    # the queued chunks, put on the event loop's thread (``LoopPut``) and read
    # there without awaiting, so a deque (an asyncio.Queue's futures, event and
    # three deques would take ~3 KB per run)
    q: deque = deque()
    aioloop = asyncio.get_running_loop()

    # chunks may come from worker threads running sync nodes (rust/py/stream_put.rs)
    put_chunk = _native.LoopPut(q.append, aioloop)
    run_manager = None
    try:
        callback_manager = run.configure(True)
        # on_chain_start, natively when no handler is called (rust/py/callbacks.rs)
        run_manager = _native.chain_run_manager(callback_manager, run.config.get("run_id"))
        if run_manager is None:
            args, kw = run.chain_start_args()
            run_manager = await callback_manager.on_chain_start(*args, **kw)
        del callback_manager  # (not kept for the run's length by this frame)
        graph_callbacks = (  # None: no callbacks configured (see _lifecycle_calls)
            None
            if run.config.get("callbacks") is None
            else get_async_graph_callback_manager_for_config(run.config, run_id=run_manager.run_id)
        )
        run.started(
            run_manager, partial(_Notify, put_chunk, partial(operator.not_, q), aioloop), q.popleft,
            IndexError,
        )
        put = run.put
        # () -> the queued chunks to yield (none when they go to the sink)
        output = run.queued if sink is None else partial(sink.take, run.queued)
        # a stream that is not eager wakes no one: its put is the queue's
        loop = run.make_loop(
            _AsyncLoop, put if run.eager else put_chunk, interrupts_only and sink is not None
        )
        loop.use_astream = bool(run_manager.handlers) and any(
            _is_stream_handler(h)
            and not isinstance(h, (StreamMessagesHandler, StreamToolCallHandler))
            for h in run_manager.handlers
        )
        async with loop:
            if run.stream_handlers or run.subgraphs:
                run.entered(loop)
            if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
                for call in _lifecycle_calls(loop, graph_callbacks):
                    await call
            notify = put if run.eager else None
            # nothing to save or flush after a step: the step ends natively
            native_after = loop.checkpointer is None and not loop._delta_names and loop.cache is None
            # a step's one task is awaited here, natively (no engine coroutine
            # between the node's awaits and the asyncio task running the run)
            lean = self.step_timeout is None and notify is None and not loop.use_astream
            while _native.tick_prelude(loop):  # rust/py/tick.rs
                if loop.cache is not None:
                    for task in await loop.amatch_cached_writes():
                        loop.put_writes(task.id, task.writes, cached=True)
                if loop.pending_put or loop.pending_cache:
                    await loop.flush_writes()
                tasks = _native.tasks_to_run(loop)
                # the stream's hand-out points. LangGraph's astream drains its
                # queue here without awaiting: a subgraph runs on until its tasks
                # really wait, before the subgraphs running beside it (which ids
                # its checkpoints get). A stream that is not eager gets every
                # chunk from the event loop's thread, queued already.
                if notify is not None and not loop.is_nested:
                    await asyncio.sleep(0)
                for chunk in output():
                    yield chunk
                if not tasks:
                    pass
                elif lean and len(tasks) == 1 and tasks[0].timeout is None:
                    t = tasks[0]
                    try:  # LangGraph's arun_with_retry (rust/py/retry_async.rs)
                        await _native.arun_with_retry(
                            t, loop.retry_policy,
                            configurable={CONFIG_KEY_CALL: partial(loop._acall_impl, t)},
                        )
                    except (Exception, asyncio.CancelledError) as exc:
                        async for _ in loop.single_done(t, exc, None, None):
                            for chunk in output():
                                yield chunk
                    else:
                        _native.commit_ok(loop, t)  # rust/py/step_commit.rs
                        if loop._call_futs:
                            await loop._await_calls()
                        if loop.pending_put or loop.pending_cache:
                            await loop.flush_writes()
                else:
                    async for _ in loop.run_tasks(tasks, self.step_timeout, notify):
                        if notify is not None and not loop.is_nested:
                            await asyncio.sleep(0)
                        for chunk in output():
                            yield chunk
                if native_after:
                    _native.after_tick(loop)  # as a sync run's (rust/py/tick.rs)
                else:
                    await loop.after_tick()
                if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
                    for call in _lifecycle_calls(loop, graph_callbacks):
                        await call
                if loop.durability == "sync":
                    loop.raise_put_error()
        if loop.lifecycle:  # graph callbacks queued (resume/interrupt)
            for call in _lifecycle_calls(loop, graph_callbacks):
                await call
        await asyncio.sleep(0)
        for chunk in output():
            yield chunk
        if loop._values_pending and sink is not None:  # (the last "values" chunk, made now)
            sink(("values", loop.state.read_output(loop.output_keys)))
        if loop.status in ENDS_WITH_ERROR:
            run.finish(loop)
        await achain_end(run_manager, loop.output)
    except BaseException as e:
        # (the traceback keeps this frame: not the step's tasks, whose writes
        # hold a failed task's error)
        t = tasks = None  # noqa: F841
        if run_manager is not None:
            await asyncio.shield(run_manager.on_chain_error(e))
        raise


