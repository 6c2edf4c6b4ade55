//! The end of a task and of a superstep, natively, on the run's `_Loop`:
//! - [`commit_ok`]: LangGraph's `PregelRunner.commit` for a task that
//!   finished without an error, then `PregelLoop.put_writes` — the pending
//!   writes, the saver call (the loop's), the `updates` chunk;
//! - [`apply_step`]: `apply_writes` on the native state, then the `values`
//!   chunk when an output channel changed.
//!
//! What is not the common case goes to the loop's Python methods, which hold
//! the whole logic: delta channels, untracked values, a cache, special writes
//! (`__error__`, `__interrupt__`, ...), `tasks`/`debug` streaming.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PySet, PyString, PyTuple};

use crate::boundary::guarded;
use crate::state_py::{State, TaskRef};
use crate::writes::{all_written_in, any_in, any_written_in};
use crate::loop_fields::{Fields, F};

struct Imports {
    node_finished_key: Py<PyAny>,
    no_writes: Py<PyAny>,
    hidden: Py<PyAny>,
    control_writes: Py<PyAny>,
    idx_map: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let constants = py.import("langgraph._internal._constants")?;
        Ok(Imports {
            node_finished_key: constants.getattr("CONFIG_KEY_NODE_FINISHED")?.unbind(),
            no_writes: constants.getattr("NO_WRITES")?.unbind(),
            hidden: py.import("langgraph.constants")?.getattr("TAG_HIDDEN")?.unbind(),
            control_writes: py.import("langgraph.pregel._task_status")?.getattr("CONTROL_WRITES")?.unbind(),
            idx_map: py.import("langgraph.checkpoint.base")?.getattr("WRITES_IDX_MAP")?.unbind(),
        })
    })
}

/// Whether a task's config carries LangGraph's hidden tag.
fn is_hidden(im: &Imports, task: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = task.py();
    let tconfig = crate::runtime::task_attr(task, intern!(py, "config"))?;
    if tconfig.is_none() {
        return Ok(false);
    }
    match tconfig.cast::<PyDict>()?.get_item(intern!(py, "tags"))? {
        Some(tags) => tags.contains(im.hidden.bind(py)),
        None => Ok(false),
    }
}

/// `_Loop._commit(task, None)`.
#[pyfunction]
pub fn commit_ok(loop_: &Bound<'_, PyAny>, task: &Bound<'_, PyAny>) -> PyResult<()> {
    guarded("commit_ok", || {
        let py = loop_.py();
        let im = imports(py)?;
        let conf = crate::checkpoint_put::configurable(loop_)?;
        // the runner's node_finished callback (a parent's stream of "tasks")
        if let Some(node_finished) = conf.get_item(im.node_finished_key.bind(py))? {
            if node_finished.is_truthy()? && !is_hidden(im, task)? {
                node_finished.call1((crate::runtime::task_attr(task, intern!(py, "name"))?,))?;
            }
        }
        let writes = crate::runtime::task_attr(task, intern!(py, "writes"))?;
        if all_written_in(&writes, im.control_writes.bind(py))? {
            let none = py.None().into_bound(py);
            writes.call_method1(intern!(py, "append"), (PyTuple::new(py, [im.no_writes.bind(py), &none])?,))?;
        }
        put_writes(loop_, task, &writes)
    })
}

/// `put_writes(task.id, writes)` on the loop, natively in the common case.
fn put_writes(loop_: &Bound<'_, PyAny>, task: &Bound<'_, PyAny>, writes: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    let task_id = crate::runtime::task_attr(task, intern!(py, "id"))?;
    if writes.len()? == 0 {
        return Ok(());
    }
    let idx_map = imports(py)?.idx_map.bind(py);
    let spec = lf.get(F::Spec)?;
    if lf.get(F::DeltaNames)?.is_truthy()?
        || spec.getattr(intern!(py, "untracked"))?.is_truthy()?
        || !lf.get(F::Cache)?.is_none()
        || any_written_in(writes, idx_map)?
    {
        loop_.call_method1(intern!(py, "put_writes"), (&task_id, writes))?;
        return Ok(());
    }
    // _prepare_put_writes
    lf.get(F::WrittenTaskIds)?
        .cast_into::<PySet>()?
        .add(&task_id)?;
    let pending = PyList::empty(py);
    crate::py_seq::for_each(&lf.get(F::CheckpointPendingWrites)?, |w| {
        if !w.get_item(0)?.eq(&task_id)? {
            pending.append(w)?;
        }
        Ok(())
    })?;
    crate::py_seq::for_each(writes, |w| {
        pending.append(PyTuple::new(py, [task_id.clone(), w.get_item(0)?, w.get_item(1)?])?)
    })?;
    lf.set(F::CheckpointPendingWrites, pending)?;
    let durability = lf.get(F::Durability)?;
    if !durability.eq(intern!(py, "exit"))? && !lf.get(F::Checkpointer)?.is_none() {
        crate::checkpoint_put::save_writes(loop_, &task_id, writes)?;
    }
    if lf.get(F::Tasks)?.is_truthy()? {
        output_writes(loop_, &task_id, writes)?;
    }
    Ok(())
}

/// `output_writes(task_id, writes)`: the `updates` chunk of a task's writes.
fn output_writes(loop_: &Bound<'_, PyAny>, task_id: &Bound<'_, PyAny>, writes: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    let stream = lf.get(F::Stream)?;
    let Some(task) = lf.get(F::Tasks)?.cast_into::<PyDict>()?.get_item(task_id)? else {
        return Ok(());
    };
    if stream.is_none() {
        return Ok(());
    }
    let modes = stream.getattr(intern!(py, "modes"))?;
    let first = writes.get_item(0)?.get_item(0)?;
    let special = first.eq(intern!(py, "__interrupt__"))? || first.eq(intern!(py, "__error__"))?;
    if special || modes.contains(intern!(py, "tasks"))? || modes.contains(intern!(py, "debug"))? {
        loop_.call_method1(intern!(py, "output_writes"), (task_id, writes))?;
        return Ok(());
    }
    // invoke reads its "updates" for interrupts only (`_Loop._updates_for_interrupts`)
    if is_hidden(imports(py)?, &task)? || lf.get(F::UpdatesForInterrupts)?.is_truthy()? {
        return Ok(());
    }
    if modes.contains(intern!(py, "updates"))? {
        let name = crate::runtime::task_attr(&task, intern!(py, "name"))?;
        let chunk = crate::updates_chunk(
            py,
            lf.get(F::OutputKeys)?,
            &name.extract::<String>()?,
            writes.clone(),
            false,
        )?;
        let item = PyTuple::new(
            py,
            [
                loop_.getattr(intern!(py, "checkpoint_ns"))?,
                intern!(py, "updates").clone().into_any(),
                chunk.into_bound(py).into_any(),
            ],
        )?;
        stream.call1((item,))?;
    }
    Ok(())
}

/// `_Loop._apply_step()` for a run without delta channels.
#[pyfunction]
pub fn apply_step(loop_: &Bound<'_, PyAny>) -> PyResult<()> {
    guarded("apply_step", || {
        let py = loop_.py();
        let lf = Fields::of(loop_)?;
        let tasks = lf.get(F::Tasks)?.cast_into::<PyDict>()?;
        let entries = tasks
            .values()
            .iter()
            .map(|t| {
                Ok(TaskRef {
                    name: crate::runtime::task_attr(&t, intern!(py, "name"))?,
                    path: crate::runtime::task_attr(&t, intern!(py, "path"))?,
                    triggers: crate::runtime::task_attr(&t, intern!(py, "triggers"))?,
                    writes: crate::runtime::task_attr(&t, intern!(py, "writes"))?,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let updated = lf.get(F::State)?.cast_into::<State>()?.borrow().apply(py, &entries)?.into_bound(py);
        lf.set(F::UpdatedChannels, &updated)?;
        let keys = lf.get(F::OutputKeys)?;
        if any_in(&updated, &keys)? {
            emit_values(loop_, &tasks, &keys)?;
        }
        lf.get(F::CheckpointPendingWrites)?
            .call_method0(intern!(py, "clear"))?;
        lf.set(F::IsReplaying, false)?;
        Ok(())
    })
}

/// `_emit_values(writes)`: the `values` chunk, when a task wrote an output key.
fn emit_values(loop_: &Bound<'_, PyAny>, tasks: &Bound<'_, PyDict>, keys: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    let stream = lf.get(F::Stream)?;
    if stream.is_none() || !stream.getattr(intern!(py, "modes"))?.contains(intern!(py, "values"))? {
        return Ok(());
    }
    let mut written = false;
    for t in tasks.values().iter() {
        if any_written_in(&crate::runtime::task_attr(&t, intern!(py, "writes"))?, keys)? {
            written = true;
            break;
        }
    }
    if !written {
        return Ok(());
    }
    // invoke keeps only the last chunk: made at its end (`_Loop._values_pending`)
    if lf.get(F::ValuesAtEnd)?.is_truthy()? {
        return lf.set(F::ValuesPending, true);
    }
    let state = lf.get(F::State)?;
    let value = if keys.is_instance_of::<PyString>() {
        if state.call_method1(intern!(py, "is_available"), (keys,))?.is_truthy()? {
            state.call_method1(intern!(py, "get"), (keys,))?
        } else {
            py.None().into_bound(py)
        }
    } else {
        state.call_method1(intern!(py, "read"), (keys,))?
    };
    let item = PyTuple::new(
        py,
        [loop_.getattr(intern!(py, "checkpoint_ns"))?, intern!(py, "values").clone().into_any(), value],
    )?;
    stream.call1((item,))?;
    Ok(())
}
