//! The tasks of a superstep, built natively from the plans the core prepared:
//! what `prepare_next_tasks(for_execution=True)` makes of each plan — the
//! node's input (through its mapper, with LangGraph's input cache), its task
//! metadata, scratchpad, runtime and config, and the `PregelExecutableTask`
//! itself — in one call per step instead of a dozen Python frames per task.
//!
//! The run's pieces are read off the Python loop (`langgraph_rs._loop._Loop`)
//! once per step, those fixed for the run once per run ([`StepConsts`]); task
//! configs come from the run's templates (`task_config::ConfigTemplate`).
//! What is rare stays the loop's: a task's cache key (only with a cache
//! policy), the scratchpad of a task when writes are pending (a resume), and
//! wrapping a node for lean runs (once per node).

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyFrozenSet, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;
use crate::callbacks::callback_child;
use crate::loop_fields::{Fields, F};
use crate::node_attrs::NodeAttrs;
use crate::runtime::generic_setattr;
use crate::runtime::{classes, Frozen};
use crate::task_config::{task_config, ConfigTemplate};

struct Imports {
    scratchpad: Frozen,
    counter: Py<PyAny>,
    /// `LazyAtomicCounter._counter`'s slot, when it is a plain slot
    counter_slot: Option<isize>,
    python_scratchpad: Py<PyAny>,
    runnable_seq: Py<PyAny>,
    partial: Py<PyAny>,
    copy: Py<PyAny>,
    default_runtime: Py<PyAny>,
    empty_map: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let algo = py.import("langgraph.pregel._algo")?;
        Ok(Imports {
            scratchpad: Frozen::load(
                py,
                py.import("langgraph._internal._scratchpad")?
                    .getattr(pyo3::intern!(py, "PregelScratchpad"))?,
            )?,
            counter: algo
                .getattr(pyo3::intern!(py, "LazyAtomicCounter"))?
                .unbind(),
            counter_slot: crate::runtime::slot_offset(
                &algo.getattr(pyo3::intern!(py, "LazyAtomicCounter"))?,
                &PyString::intern(py, "_counter"),
            )?,
            python_scratchpad: algo.getattr(pyo3::intern!(py, "_scratchpad"))?.unbind(),
            runnable_seq: py
                .import("langgraph._internal._runnable")?
                .getattr(pyo3::intern!(py, "RunnableSeq"))?
                .unbind(),
            partial: py
                .import("functools")?
                .getattr(pyo3::intern!(py, "partial"))?
                .unbind(),
            copy: py
                .import("copy")?
                .getattr(pyo3::intern!(py, "copy"))?
                .unbind(),
            default_runtime: py
                .import("langgraph.runtime")?
                .getattr(pyo3::intern!(py, "DEFAULT_RUNTIME"))?
                .unbind(),
            empty_map: PyDict::new(py).into_any().unbind(),
        })
    })
}

/// Interned attribute and key names.
struct Names {
    configurable: Py<PyString>,
    run_id: Py<PyString>,
    scratchpad: Py<PyString>,
    resume_map: Py<PyString>,
    runtime: Py<PyString>,
    thread_id: Py<PyString>,
    checkpoint_ns: Py<PyString>,
    checkpoint_map: Py<PyString>,
    checkpoint_id: Py<PyString>,
    checkpointer: Py<PyString>,
    task_id: Py<PyString>,
    send: Py<PyString>,
    read: Py<PyString>,
    previous: Py<PyString>,
    counter: Py<PyString>,
    // task and scratchpad fields
    name: Py<PyString>,
    input: Py<PyString>,
    proc: Py<PyString>,
    writes: Py<PyString>,
    config: Py<PyString>,
    triggers: Py<PyString>,
    retry_policy: Py<PyString>,
    cache_key: Py<PyString>,
    id: Py<PyString>,
    path: Py<PyString>,
    writers: Py<PyString>,
    subgraphs: Py<PyString>,
    timeout: Py<PyString>,
    step: Py<PyString>,
    stop: Py<PyString>,
    call_counter: Py<PyString>,
    interrupt_counter: Py<PyString>,
    get_null_resume: Py<PyString>,
    resume: Py<PyString>,
    subgraph_counter: Py<PyString>,
    // task metadata
    langgraph_step: Py<PyString>,
    langgraph_node: Py<PyString>,
    langgraph_triggers: Py<PyString>,
    langgraph_path: Py<PyString>,
    langgraph_checkpoint_ns: Py<PyString>,
    store: Py<PyString>,
    execution_info: Py<PyString>,
    info_task_id: Py<PyString>,
    runtime_previous: Py<PyString>,
}

static NAMES: PyOnceLock<Names> = PyOnceLock::new();

fn names(py: Python<'_>) -> PyResult<&'static Names> {
    NAMES.get_or_try_init(py, || {
        let s = |v: &str| PyString::intern(py, v).unbind();
        Ok(Names {
            configurable: s("configurable"),
            run_id: s("run_id"),
            scratchpad: s("__pregel_scratchpad"),
            resume_map: s("__pregel_resume_map"),
            runtime: s("__pregel_runtime"),
            thread_id: s("thread_id"),
            checkpoint_ns: s("checkpoint_ns"),
            checkpoint_map: s("checkpoint_map"),
            checkpoint_id: s("checkpoint_id"),
            checkpointer: s("__pregel_checkpointer"),
            task_id: s("__pregel_task_id"),
            send: s("__pregel_send"),
            read: s("__pregel_read"),
            previous: s("__previous__"),
            counter: s("_counter"),
            name: s("name"),
            input: s("input"),
            proc: s("proc"),
            writes: s("writes"),
            config: s("config"),
            triggers: s("triggers"),
            retry_policy: s("retry_policy"),
            cache_key: s("cache_key"),
            id: s("id"),
            path: s("path"),
            writers: s("writers"),
            subgraphs: s("subgraphs"),
            timeout: s("timeout"),
            step: s("step"),
            stop: s("stop"),
            call_counter: s("call_counter"),
            interrupt_counter: s("interrupt_counter"),
            get_null_resume: s("get_null_resume"),
            resume: s("resume"),
            subgraph_counter: s("subgraph_counter"),
            langgraph_step: s("langgraph_step"),
            langgraph_node: s("langgraph_node"),
            langgraph_triggers: s("langgraph_triggers"),
            langgraph_path: s("langgraph_path"),
            langgraph_checkpoint_ns: s("langgraph_checkpoint_ns"),
            store: s("store"),
            execution_info: s("execution_info"),
            info_task_id: s("task_id"),
            runtime_previous: s("previous"),
        })
    })
}

/// A scratchpad's `get_null_resume` when the step has no pending write: no
/// resume value of its own, so it asks the parent graph's scratchpad (a
/// subgraph's) or answers None — LangGraph's closure for that case.
#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct NullResume {
    parent: Option<Py<PyAny>>,
}

#[pymethods]
impl NullResume {
    #[pyo3(signature = (consume=false))]
    fn __call__(&self, py: Python<'_>, consume: bool) -> PyResult<Py<PyAny>> {
        match &self.parent {
            Some(p) => Ok(p
                .bind(py)
                .getattr(pyo3::intern!(py, "get_null_resume"))?
                .call1((consume,))?
                .unbind()),
            None => Ok(py.None()),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(p) = &self.parent {
            visit.call(p)?;
        }
        Ok(())
    }
}

/// `LazyAtomicCounter()` without entering its `__init__`.
fn lazy_counter<'py>(py: Python<'py>, im: &Imports, n: &Names) -> PyResult<Bound<'py, PyAny>> {
    let c = crate::runtime::object_new(im.counter.bind(py))?;
    match im.counter_slot {
        // SAFETY: `c` is exactly a `LazyAtomicCounter`, whose `_counter`
        // slot is at this offset.
        Some(offset) => unsafe { crate::runtime::set_slot(&c, offset, &py.None().into_bound(py)) },
        None => generic_setattr(&c, n.counter.bind(py), &py.None().into_bound(py))?,
    }
    Ok(c)
}

/// What `Step::read` takes from the loop that stays the same for a whole
/// run: read once per run, kept on the loop as `_Loop._step_consts`.
#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct StepConsts {
    nodes: Py<PyAny>,
    lean: bool,
    lean_nodes: Py<PyDict>,
    store: Py<PyAny>,
    manager: Py<PyAny>,
    managed: Py<PyAny>,
    retry_policy: Py<PyAny>,
    cache_policy: Py<PyAny>,
    has_previous: bool,
    /// Per node name, its [`ConfigTemplate`] for this run.
    templates: Py<PyDict>,
}

#[pymethods]
impl StepConsts {
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.nodes)?;
        visit.call(&self.lean_nodes)?;
        visit.call(&self.store)?;
        visit.call(&self.manager)?;
        visit.call(&self.managed)?;
        visit.call(&self.retry_policy)?;
        visit.call(&self.cache_policy)?;
        visit.call(&self.templates)
    }
}

impl StepConsts {
    /// The loop's, made on the run's first step. Every attribute read here is
    /// set in `_Loop.__init__` and never reassigned.
    fn of<'py>(loop_: &Bound<'py, PyAny>, n: &Names) -> PyResult<Bound<'py, StepConsts>> {
        let py = loop_.py();
        let lf = Fields::of(loop_)?;
        let have = lf.get(F::StepConsts)?;
        if let Ok(c) = have.cast_into::<StepConsts>() {
            return Ok(c);
        }
        let consts = Bound::new(
            py,
            StepConsts {
                nodes: loop_.getattr(pyo3::intern!(py, "nodes"))?.unbind(),
                lean: loop_.getattr(pyo3::intern!(py, "_lean"))?.is_truthy()?,
                lean_nodes: loop_
                    .getattr(pyo3::intern!(py, "_lean_nodes"))?
                    .cast_into::<PyDict>()?
                    .unbind(),
                store: loop_.getattr(pyo3::intern!(py, "store"))?.unbind(),
                manager: loop_.getattr(pyo3::intern!(py, "manager"))?.unbind(),
                managed: lf
                    .get(F::Spec)?
                    .getattr(pyo3::intern!(py, "managed"))?
                    .unbind(),
                retry_policy: lf.get(F::RetryPolicy)?.unbind(),
                cache_policy: loop_.getattr(pyo3::intern!(py, "cache_policy"))?.unbind(),
                has_previous: loop_
                    .getattr(pyo3::intern!(py, "channel_names"))?
                    .cast_into::<PyFrozenSet>()?
                    .contains(n.previous.bind(py))?,
                templates: PyDict::new(py).unbind(),
            },
        )?;
        lf.set(F::StepConsts, &consts)?;
        Ok(consts)
    }
}

/// What is the same for every task of one step.
struct Step<'py> {
    loop_: Bound<'py, PyAny>,
    nodes: Bound<'py, PyAny>,
    lean: bool,
    lean_nodes: Bound<'py, PyDict>,
    config: Bound<'py, PyDict>,
    configurable: Bound<'py, PyDict>,
    templates: Bound<'py, PyDict>,
    step: Bound<'py, PyAny>,
    stop: Bound<'py, PyAny>,
    checkpoint_id: Bound<'py, PyAny>,
    pending: Bound<'py, PyAny>,
    has_pending: bool,
    parent_scratchpad: Bound<'py, PyAny>,
    resume_map: Bound<'py, PyAny>,
    runtime: Bound<'py, PyAny>,
    previous: Bound<'py, PyAny>,
    store: Bound<'py, PyAny>,
    thread_id: Bound<'py, PyAny>,
    run_id: Bound<'py, PyAny>,
    parent_ns: Bound<'py, PyAny>,
    parent_map: Bound<'py, PyAny>,
    checkpointer: Bound<'py, PyAny>,
    manager: Bound<'py, PyAny>,
    step_tag: Bound<'py, PyAny>,
    local_read: Bound<'py, PyAny>,
    channels: Bound<'py, PyAny>,
    managed: Bound<'py, PyAny>,
    retry_policy: Bound<'py, PyAny>,
    cache_policy: Bound<'py, PyAny>,
}

fn or_none<'py>(d: &Bound<'py, PyDict>, key: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
    Ok(d.get_item(key)?
        .unwrap_or_else(|| d.py().None().into_bound(d.py())))
}

impl<'py> Step<'py> {
    fn read(loop_: &Bound<'py, PyAny>, n: &Names, im: &Imports) -> PyResult<Step<'py>> {
        let py = loop_.py();
        // (the loop's fields, once for the step)
        let lf = Fields::of(loop_)?;
        let config = lf.get(F::Config)?.cast_into::<PyDict>()?;
        let configurable = config
            .get_item(n.configurable.bind(py))?
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err("configurable"))?
            .cast_into::<PyDict>()?;
        let consts = StepConsts::of(loop_, n)?;
        let consts = consts.get();
        let pending = lf.get(F::CheckpointPendingWrites)?;
        let has_pending = pending.len()? > 0;
        let previous = if consts.has_previous {
            loop_.call_method0(pyo3::intern!(py, "_previous"))?
        } else {
            py.None().into_bound(py)
        };
        let run_id = match config.get_item(n.run_id.bind(py))? {
            Some(r) if r.is_truthy()? => r.str()?.into_any(),
            _ => py.None().into_bound(py),
        };
        let step = lf.get(F::Step)?;
        let step_tag = match step.cast_exact::<pyo3::types::PyInt>().map(|s| s.extract::<i64>()) {
            Ok(Ok(n)) => PyString::new(py, &format!("graph:step:{n}")),
            _ => PyString::new(py, &format!("graph:step:{}", step.str()?)),
        }
        .into_any();
        let checkpointer = lf.get(F::Checkpointer)?;
        let checkpointer = if checkpointer.is_truthy()? {
            checkpointer
        } else {
            or_none(&configurable, n.checkpointer.bind(py))?
        };
        let stop = lf.get(F::Stop)?;
        Ok(Step {
            nodes: consts.nodes.bind(py).clone(),
            lean: consts.lean,
            lean_nodes: consts.lean_nodes.bind(py).clone(),
            step,
            stop,
            checkpoint_id: lf
                .get(F::Checkpoint)?
                .get_item(n.id.bind(py))?,
            has_pending,
            pending,
            parent_scratchpad: or_none(&configurable, n.scratchpad.bind(py))?,
            resume_map: or_none(&configurable, n.resume_map.bind(py))?,
            runtime: match configurable.get_item(n.runtime.bind(py))? {
                Some(r) => r,
                None => im.default_runtime.bind(py).clone(),
            },
            previous,
            store: consts.store.bind(py).clone(),
            thread_id: or_none(&configurable, n.thread_id.bind(py))?,
            run_id,
            parent_ns: match configurable.get_item(n.checkpoint_ns.bind(py))? {
                Some(ns) => ns,
                None => PyString::new(py, "").into_any(),
            },
            parent_map: match configurable.get_item(n.checkpoint_map.bind(py))? {
                Some(m) => m,
                None => im.empty_map.bind(py).clone(),
            },
            checkpointer,
            manager: consts.manager.bind(py).clone(),
            step_tag,
            local_read: loop_.getattr(pyo3::intern!(py, "_local_read"))?,
            channels: lf.get(F::Channels)?,
            managed: consts.managed.bind(py).clone(),
            retry_policy: consts.retry_policy.bind(py).clone(),
            cache_policy: consts.cache_policy.bind(py).clone(),
            templates: consts.templates.bind(py).clone(),
            configurable,
            config,
            loop_: loop_.clone(),
        })
    }

    /// `_algo._scratchpad(...)`; natively when no write is pending.
    fn scratchpad(
        &self,
        im: &Imports,
        n: &Names,
        task_id: &Bound<'py, PyAny>,
        task_ns: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = self.loop_.py();
        if self.has_pending {
            return im.python_scratchpad.bind(py).call1((
                &self.parent_scratchpad,
                &self.pending,
                task_id,
                task_ns,
                &self.resume_map,
                &self.step,
                &self.stop,
            ));
        }
        let parent = if self.parent_scratchpad.is_none() {
            None
        } else {
            Some(self.parent_scratchpad.clone().unbind())
        };
        let get_null_resume = Bound::new(py, NullResume { parent })?.into_any();
        im.scratchpad.build(
            py,
            &[
                (n.step.bind(py), self.step.clone()),
                (n.stop.bind(py), self.stop.clone()),
                (n.call_counter.bind(py), lazy_counter(py, im, n)?),
                (n.interrupt_counter.bind(py), lazy_counter(py, im, n)?),
                (n.get_null_resume.bind(py), get_null_resume),
                (n.resume.bind(py), PyList::empty(py).into_any()),
                (n.subgraph_counter.bind(py), lazy_counter(py, im, n)?),
            ],
        )
    }

    /// The task of one plan `(id, name, path, triggers, input, ns, packet)`,
    /// or None when its node has nothing to run.
    fn task(
        &self,
        im: &Imports,
        n: &Names,
        plan: &Bound<'py, PyTuple>,
        inputs: &Bound<'py, PyDict>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = plan.py();
        let task_id = plan.get_item(0)?;
        let name = plan.get_item(1)?;
        let path = plan.get_item(2)?;
        let triggers = plan.get_item(3)?;
        let mut val = plan.get_item(4)?;
        let task_ns = plan.get_item(5)?;
        let packet = plan.get_item(6)?;
        let proc = self.nodes.get_item(&name)?;
        let attrs = NodeAttrs::of(&proc)?;
        let timeout = {
            let own = attrs.get(n.timeout.bind(py))?;
            if packet.is_none() {
                own
            } else {
                let t = packet.getattr(n.timeout.bind(py))?;
                if t.is_none() {
                    own
                } else {
                    t
                }
            }
        };
        let lean = self.lean && timeout.is_none();
        let mut node = if lean {
            self.lean_nodes.get_item(&name)?
        } else {
            None
        };
        if node.is_none() {
            let plain = attrs.get(pyo3::intern!(py, "node"))?;
            if plain.is_none() {
                return Ok(None);
            }
            node = Some(if lean && plain.is_instance(im.runnable_seq.bind(py))? {
                self.loop_
                    .call_method1(pyo3::intern!(py, "_lean_node"), (&name, &plain))?
            } else if let Some(write) = if lean {
                crate::node_call::LeanWrite::of(&plain)?
            } else {
                None
            } {
                self.lean_nodes.set_item(&name, &write)?;
                write.into_any()
            } else {
                plain
            });
        }
        let node = node.expect("set above");
        if packet.is_none() {
            let key = attrs.get(pyo3::intern!(py, "input_cache_key"))?;
            if let Some(first) = inputs.get_item(&key)? {
                val = im.copy.bind(py).call1((first,))?;
            } else {
                let mapper = attrs.get(pyo3::intern!(py, "mapper"))?;
                if !mapper.is_none() {
                    val = mapper.call1((&val,)).map_err(|e| before_task_note(e, &name, &path))?;
                }
                inputs.set_item(key, &val)?;
            }
        }
        let meta_values = [&self.step, &name, &triggers, &path, &task_ns];
        // a list where LangGraph's task has a deque (only extended, read and
        // cleared: an empty deque takes 760 bytes per task)
        let writes = PyList::empty(py).into_any();
        let own_cache = attrs.get(pyo3::intern!(py, "cache_policy"))?;
        let cache_policy = if own_cache.is_truthy()? {
            own_cache
        } else {
            self.cache_policy.clone()
        };
        let cache_key = if cache_policy.is_truthy()? {
            self.loop_.call_method1(
                pyo3::intern!(py, "_task_cache_key"),
                (&proc, &name, &val, &cache_policy),
            )?
        } else {
            py.None().into_bound(py)
        };
        let config = self.config(
            im,
            n,
            &task_id,
            &task_ns,
            &writes,
            &attrs,
            &meta_values,
            &name,
        )?;
        let own_retry = attrs.get(n.retry_policy.bind(py))?;
        let retry = if own_retry.is_truthy()? {
            own_retry
        } else {
            self.retry_policy.clone()
        };
        let task = classes(py)?.task.build(
            py,
            &[
                (n.name.bind(py), name),
                (n.input.bind(py), val),
                (n.proc.bind(py), node),
                (n.writes.bind(py), writes),
                (n.config.bind(py), config.into_any()),
                (n.triggers.bind(py), triggers),
                (n.retry_policy.bind(py), retry),
                (n.cache_key.bind(py), cache_key),
                (n.id.bind(py), task_id),
                (n.path.bind(py), path),
                (
                    n.writers.bind(py),
                    attrs.get(pyo3::intern!(py, "flat_writers"))?,
                ),
                (n.subgraphs.bind(py), attrs.get(n.subgraphs.bind(py))?),
                (n.timeout.bind(py), timeout),
            ],
        )?;
        Ok(Some(task))
    }

    /// `_Loop._task_config` for a planned task.
    #[allow(clippy::too_many_arguments)]
    fn config(
        &self,
        im: &Imports,
        n: &Names,
        task_id: &Bound<'py, PyAny>,
        task_ns: &Bound<'py, PyAny>,
        writes: &Bound<'py, PyAny>,
        attrs: &NodeAttrs<'py>,
        meta_values: &[&Bound<'py, PyAny>; 5],
        name: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let py = task_id.py();
        let scratchpad = self.scratchpad(im, n, task_id, task_ns)?;
        let rt = classes(py)?;
        let info = rt.execution_info.build(
            py,
            &[
                (n.checkpoint_id.bind(py), self.checkpoint_id.clone()),
                (n.checkpoint_ns.bind(py), task_ns.clone()),
                (n.info_task_id.bind(py), task_id.clone()),
                (n.thread_id.bind(py), self.thread_id.clone()),
                (n.run_id.bind(py), self.run_id.clone()),
            ],
        )?;
        let runtime = rt.runtime.replace(
            &self.runtime,
            &[
                (n.runtime_previous.bind(py), self.previous.clone()),
                (n.store.bind(py), self.store.clone()),
                (n.execution_info.bind(py), info),
            ],
        )?;
        let callbacks = if self.manager.is_truthy()? {
            callback_child(&self.manager, &self.step_tag)?
        } else {
            py.None().into_bound(py)
        };
        let map = PyDict::new(py);
        map.update(self.parent_map.cast::<pyo3::types::PyMapping>()?)?;
        map.set_item(&self.parent_ns, &self.checkpoint_id)?;
        let read = im.partial.bind(py).call1((
            &self.local_read,
            &scratchpad,
            &self.channels,
            &self.managed,
            writes,
        ))?;
        let conf = [
            (n.task_id.bind(py), task_id.clone()),
            (
                n.send.bind(py),
                writes.getattr(pyo3::intern!(py, "extend"))?,
            ),
            (n.read.bind(py), read),
            (n.checkpointer.bind(py), self.checkpointer.clone()),
            (n.checkpoint_map.bind(py), map.into_any()),
            (n.checkpoint_id.bind(py), py.None().into_bound(py)),
            (n.checkpoint_ns.bind(py), task_ns.clone()),
            (n.scratchpad.bind(py), scratchpad),
            (n.runtime.bind(py), runtime),
        ];
        let meta_keys = [
            n.langgraph_step.bind(py),
            n.langgraph_node.bind(py),
            n.langgraph_triggers.bind(py),
            n.langgraph_path.bind(py),
            n.langgraph_checkpoint_ns.bind(py),
        ];
        // the config template for this run: one for every node that adds no
        // tags or metadata of its own, one per node for the others
        let (extra, tags) = (
            attrs.get(pyo3::intern!(py, "metadata"))?,
            attrs.get(pyo3::intern!(py, "tags"))?,
        );
        let key = if extra.is_truthy()? || tags.is_truthy()? {
            name.clone()
        } else {
            py.None().into_bound(py)
        };
        let template = match self.templates.get_item(&key)? {
            Some(t) => {
                let t = t.cast_into::<ConfigTemplate>()?;
                if t.get().fits(&self.config) {
                    Some(t)
                } else {
                    None
                }
            }
            None => None,
        };
        let template = match template {
            Some(t) => Some(t),
            None => match ConfigTemplate::make(
                &self.config,
                &meta_keys,
                &extra,
                &tags,
                name,
                &callbacks,
            )? {
                Some(t) => {
                    let t = Bound::new(py, t)?;
                    self.templates.set_item(&key, &t)?;
                    Some(t)
                }
                None => None,
            },
        };
        if let Some(t) = template {
            return t.get().config(
                &meta_keys,
                meta_values,
                name,
                &callbacks,
                &self.configurable,
                &conf,
            );
        }
        let metadata = PyDict::new(py);
        for (k, v) in meta_keys.iter().zip(meta_values) {
            metadata.set_item(k, v)?;
        }
        if extra.is_truthy()? {
            metadata.call_method1(pyo3::intern!(py, "update"), (extra,))?;
        }
        let confd = PyDict::new(py);
        for (k, v) in &conf {
            confd.set_item(k, v)?;
        }
        task_config(
            py,
            &self.config,
            Some(metadata.as_any()),
            Some(&tags),
            name,
            &callbacks,
            &confd,
        )
    }
}

/// `_Loop._prepare_tasks` after planning: the step's tasks by id, in plan
/// order, from the core's plans.
#[pyfunction]
pub fn build_tasks<'py>(
    loop_: &Bound<'py, PyAny>,
    plans: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    guarded("build_tasks", || {
        let py = loop_.py();
        let (im, n) = (imports(py)?, names(py)?);
        let tasks = PyDict::new(py);
        let plans = plans.cast::<PyList>()?;
        if plans.is_empty() {
            return Ok(tasks);
        }
        let step = Step::read(loop_, n, im)?;
        // LangGraph's input_cache: nodes with the same `input_cache_key` get a
        // shallow copy of the input of the first one prepared
        let inputs = PyDict::new(py);
        for plan in plans.iter() {
            let plan = plan.cast_into::<PyTuple>()?;
            if let Some(task) = step.task(im, n, &plan, &inputs)? {
                tasks.set_item(plan.get_item(0)?, task)?;
            }
        }
        Ok(tasks)
    })
}

/// A PULL task's input failing its node's mapper carries LangGraph's note
/// ``Before task with name '<name>' and path '<path[:3]>'``.
fn before_task_note(err: PyErr, name: &Bound<'_, PyAny>, path: &Bound<'_, PyAny>) -> PyErr {
    let py = name.py();
    let exc = err.value(py);
    // (exception notes exist from Python 3.11, where LangGraph adds them)
    let notes = exc.hasattr(pyo3::intern!(py, "add_note")).unwrap_or(false);
    if notes && exc.is_instance_of::<pyo3::exceptions::PyException>() {
        let note = (|| -> PyResult<String> {
            let head = path.get_item(pyo3::types::PySlice::new(py, 0, 3, 1))?;
            Ok(format!("Before task with name '{}' and path '{}'", name.str()?, head.repr()?))
        })();
        match note {
            Ok(note) => {
                if let Err(e) = exc.call_method1(pyo3::intern!(py, "add_note"), (note,)) {
                    return e;
                }
            }
            Err(e) => return e,
        }
    }
    err
}
