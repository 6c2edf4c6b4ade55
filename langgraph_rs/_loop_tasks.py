"""The ``_Loop``'s tasks: the step's tasks (built natively from the core's
plans), their configs, error-handler tasks and ``@task`` call tasks, and the
reads a task makes of the state.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph._internal._constants import (
    CACHE_NS_WRITES,
    CONF,
    CONFIG_KEY_CHECKPOINT_ID,
    CONFIG_KEY_CHECKPOINT_MAP,
    CONFIG_KEY_CHECKPOINT_NS,
    CONFIG_KEY_CHECKPOINTER,
    CONFIG_KEY_NODE_ERROR,
    CONFIG_KEY_READ,
    CONFIG_KEY_RESUME_MAP,
    CONFIG_KEY_RUNTIME,
    CONFIG_KEY_SCRATCHPAD,
    CONFIG_KEY_SEND,
    CONFIG_KEY_TASK_ID,
    CONFIG_KEY_THREAD_ID,
    ERROR,
    ERROR_SOURCE_NODE,
    NS_END,
    NS_SEP,
    PREVIOUS,
    PUSH,
)
from langgraph._internal._runnable import RunnableSeq
from langgraph._internal._typing import EMPTY_SEQ
from langgraph.constants import TAG_HIDDEN
from langgraph.errors import (
    NodeError,
    GraphBubbleUp,
)
from langgraph.pregel import _algo
from langgraph.pregel._call import get_runnable_for_task, identifier
from langgraph.pregel._task_status import read_task_statuses
from langgraph.pregel.debug import (
    map_debug_tasks,
)
from langgraph.runtime import DEFAULT_RUNTIME
from langgraph.types import CacheKey, PregelExecutableTask
from xxhash import xxh3_128_hexdigest

from langgraph_rs import _native
from langgraph_rs._channels_view import read_state



PUSH_TRIGGER = (PUSH,)


def _cache_key(policy: Any, key_ns: tuple, args_key: Any) -> CacheKey:
    """The cache key of a task's writes (as ``_algo`` builds it)."""
    return CacheKey(
        key_ns,
        xxh3_128_hexdigest(args_key.encode() if isinstance(args_key, str) else args_key),
        policy.ttl,
    )


def _task_metadata(step: int, name: str, triggers: Any, path: tuple, task_ns: str, extra: Any) -> dict:
    metadata = {
        "langgraph_step": step,
        "langgraph_node": name,
        "langgraph_triggers": triggers,
        "langgraph_path": path,
        "langgraph_checkpoint_ns": task_ns,
    }
    if extra:
        metadata.update(extra)
    return metadata


class _Tasks:
    """Mixin of ``_Loop``: task building."""

    # -- tasks --------------------------------------------------------------

    def _prepare_tasks(self) -> None:
        _native.prepare_tasks(self)  # rust/py/tick.rs: the core's plans, built

    def _reapplied(self, task_id: str) -> None:
        """Record a task whose saved writes were put back on it."""
        if not self._reapplied_task_ids:
            self._reapplied_task_ids = set()
        self._reapplied_task_ids.add(task_id)

    def _lean_node(self, name: str, node: RunnableSeq) -> Any:
        """The lean form of a node (``LeanSeq``, rust/py/node_call.rs): its steps
        run without a callback run, for runs with no handler. Made once per graph."""
        lean = self._lean_nodes[name] = _native.LeanSeq(node)
        return lean

    def _task_cache_key(self, proc: Any, name: str, val: Any, policy: Any) -> CacheKey:
        return _cache_key(
            policy, (CACHE_NS_WRITES, (identifier(proc) or "__dynamic__"), name), policy.key_func(val)
        )

    def _task_config(
        self,
        config: dict,
        task_id: str,
        task_ns: str,
        writes: list,
        additional: dict,
        name: str,
        callbacks: Any,
        with_previous: bool,
        extra: dict | None = None,
        execution_info: bool = True,
    ) -> dict:
        configurable = config[CONF]
        scratchpad = _algo._scratchpad(
            configurable.get(CONFIG_KEY_SCRATCHPAD),
            self.checkpoint_pending_writes,
            task_id,
            task_ns,
            configurable.get(CONFIG_KEY_RESUME_MAP),
            self.step,
            self.stop,
        )
        runtime = configurable.get(CONFIG_KEY_RUNTIME, DEFAULT_RUNTIME)
        if not execution_info:
            runtime = _native.override_runtime(runtime, store=self.store, previous=self._previous())
        else:
            info = _native.execution_info(
                checkpoint_id=self.checkpoint["id"],
                checkpoint_ns=task_ns,
                task_id=task_id,
                thread_id=configurable.get(CONFIG_KEY_THREAD_ID),
                run_id=str(rid) if (rid := config.get("run_id")) else None,
            )
            if with_previous:
                runtime = _native.override_runtime(
                    runtime, previous=self._previous(), store=self.store, execution_info=info
                )
            else:
                runtime = _native.override_runtime(runtime, store=self.store, execution_info=info)
        parent_ns = configurable.get(CONFIG_KEY_CHECKPOINT_NS, "")
        return _native.task_config(
            config,
            additional.get("metadata"),
            additional.get("tags"),
            run_name=name,
            callbacks=callbacks
            or (
                _native.callback_child(self.manager, f"graph:step:{self.step}")
                if self.manager
                else None
            ),
            configurable={
                CONFIG_KEY_TASK_ID: task_id,
                CONFIG_KEY_SEND: writes.extend,
                # LangGraph's shape: partial(local_read, scratchpad, channels, managed, task)
                CONFIG_KEY_READ: partial(
                    self._local_read, scratchpad, self.channels, self.spec.managed, writes
                ),
                CONFIG_KEY_CHECKPOINTER: (
                    self.checkpointer or configurable.get(CONFIG_KEY_CHECKPOINTER)
                ),
                CONFIG_KEY_CHECKPOINT_MAP: {
                    **configurable.get(CONFIG_KEY_CHECKPOINT_MAP, {}),
                    parent_ns: self.checkpoint["id"],
                },
                CONFIG_KEY_CHECKPOINT_ID: None,
                CONFIG_KEY_CHECKPOINT_NS: task_ns,
                CONFIG_KEY_SCRATCHPAD: scratchpad,
                CONFIG_KEY_RUNTIME: runtime,
                **(extra or {}),
            },
        )

    def _previous(self) -> Any:
        if PREVIOUS in self.channel_names and self.state.is_available(PREVIOUS):
            return self.state.get(PREVIOUS)
        return None

    def _routes_to_handler(self, task: PregelExecutableTask, exc: BaseException | None) -> bool:
        return (
            exc is not None
            and not isinstance(exc, GraphBubbleUp)
            and task.name not in self._handler_nodes
            and task.name in self._handler_map
        )

    def _build_handler_task(
        self, failed: PregelExecutableTask, error: BaseException
    ) -> PregelExecutableTask | None:
        """``prepare_node_error_handler_task``: the handler run for a failed node."""
        name = self.nodes[failed.name].error_handler_node
        if not name or name not in self.nodes:
            return None
        proc = self.nodes[name]
        if proc.node is None:
            return None
        config = failed.config
        parent_ns = config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
        checkpoint_ns = f"{parent_ns}{NS_SEP}{name}" if parent_ns else name
        task_id = _native.task_id(
            self.checkpoint["id"], checkpoint_ns, str(self.step), name, PUSH,
            "node_error_handler", failed.id, sha1_ids=self.sha1_ids,
        )
        task_ns = f"{checkpoint_ns}{NS_END}{task_id}"
        path = (*failed.path[:3], "node_error_handler", False)
        metadata = _task_metadata(self.step, name, PUSH_TRIGGER, path, task_ns, proc.metadata)
        cache_policy = proc.cache_policy or self.cache_policy
        cache_key = (
            _cache_key(
                cache_policy,
                (CACHE_NS_WRITES, (identifier(proc) or "__dynamic__"), name),
                cache_policy.key_func(failed.input),
            )
            if cache_policy
            else None
        )
        writes: list = []
        return PregelExecutableTask(
            name,
            failed.input,
            proc.node,
            writes,
            self._task_config(
                config, task_id, task_ns, writes,
                {"metadata": metadata, "tags": proc.tags}, name, None, True,
                extra={CONFIG_KEY_NODE_ERROR: NodeError(node=failed.name, error=error)},
                execution_info=False,
            ),
            PUSH_TRIGGER,
            proc.retry_policy or self.retry_policy,
            cache_key,
            task_id,
            path,
            writers=proc.flat_writers,
            subgraphs=proc.subgraphs,
        )

    def _add_handler_task(
        self, failed: PregelExecutableTask, error: BaseException
    ) -> PregelExecutableTask | None:
        handler = self._build_handler_task(failed, error)
        if handler is None:
            return None
        self.tasks[handler.id] = handler
        if not self.is_replaying:
            for tid, st in read_task_statuses(
                w for w in self.checkpoint_pending_writes if w[0] == handler.id
            ).items():
                handler.writes.extend(st.output)
                self._reapplied(tid)
        return handler

    def _resume_error_handlers(self) -> None:
        failed: dict[str, BaseException] = {}
        for tid, chan, _ in self.checkpoint_pending_writes:
            if chan == ERROR_SOURCE_NODE:
                error = next(
                    (v for t, c, v in self.checkpoint_pending_writes if t == tid and c == ERROR),
                    None,
                )
                if error is not None:
                    failed[tid] = error
        for tid, error in failed.items():
            task = self.tasks.get(tid)
            if task is None or not self.nodes[task.name].error_handler_node:
                continue
            task.writes.append((ERROR, error))
            handler = self._build_handler_task(task, error)
            if handler is not None:
                self.tasks[handler.id] = handler

    def _build_call_task(self, parent: PregelExecutableTask, write_idx: int, call: Any) -> PregelExecutableTask:
        """``prepare_push_task_functional``: the task of a ``@task`` call."""
        proc = get_runnable_for_task(call.func)
        name = proc.name
        if name is None:
            raise ValueError("`call` functions must have a `__name__` attribute")
        config = parent.config
        parent_ns = config[CONF].get(CONFIG_KEY_CHECKPOINT_NS, "")
        checkpoint_ns = f"{parent_ns}{NS_SEP}{name}" if parent_ns else name
        task_id = _native.task_id(
            self.checkpoint["id"],
            checkpoint_ns,
            str(self.step),
            name,
            PUSH,
            _algo.task_path_str(parent.path),
            str(write_idx),
            sha1_ids=self.sha1_ids,
        )
        task_ns = f"{checkpoint_ns}{NS_END}{task_id}"
        path = (PUSH, parent.path, write_idx, True)
        metadata = _task_metadata(self.step, name, PUSH_TRIGGER, path, task_ns, None)
        writes: list = []
        cache_policy = call.cache_policy or self.cache_policy
        cache_key = (
            _cache_key(
                cache_policy,
                (CACHE_NS_WRITES, (identifier(call.func) or "__dynamic__")),
                cache_policy.key_func(*call.input[0], **call.input[1]),
            )
            if cache_policy
            else None
        )
        return PregelExecutableTask(
            name,
            call.input,
            proc,
            writes,
            self._task_config(
                config, task_id, task_ns, writes, {"metadata": metadata}, name,
                call.callbacks, False,
            ),
            PUSH_TRIGGER,
            call.retry_policy or self.retry_policy,
            cache_key,
            task_id,
            path,
            timeout=call.timeout,
        )

    def accept_push(self, parent: PregelExecutableTask, write_idx: int, call: Any) -> PregelExecutableTask:
        pushed = self._build_call_task(parent, write_idx, call)
        self._emit("tasks", map_debug_tasks, [pushed])
        self.tasks[pushed.id] = pushed
        if not self.is_replaying:
            statuses = read_task_statuses(
                w for w in self.checkpoint_pending_writes if w[0] == pushed.id
            )
            for tid, st in statuses.items():
                pushed.writes.extend(st.output)
                self._reapplied(tid)
        return pushed

    def _local_read(
        self,
        scratchpad: Any,
        channels: Any,
        managed: Any,
        writes: list,
        select: str | list[str],
        fresh: bool = False,
    ) -> Any:
        return read_state(
            self.state, select, list(writes) if fresh else None, self.step, int(self.stop)
        )

    def _should_interrupt(self, nodes: Any) -> list[PregelExecutableTask]:
        if not nodes or not self.state.should_interrupt():
            return []
        return [
            t
            for t in self.tasks.values()
            if (
                (not t.config or TAG_HIDDEN not in t.config.get("tags", EMPTY_SEQ))
                if nodes == "*"
                else t.name in nodes
            )
        ]
