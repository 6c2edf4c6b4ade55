//! A state snapshot's tasks (`get_state`): the part of LangGraph's
//! `Pregel._prepare_state_snapshot` after the planning. The checkpoint's
//! pending writes are read once into task statuses (`read_task_statuses`),
//! the null writes and, for a live snapshot, the finished tasks' writes are
//! applied without versions, and each planned task becomes the `PregelTask`
//! `debug.tasks_w_writes` makes.

use std::collections::HashMap;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::boundary::guarded;
use crate::state_py::{State, TaskRef};

const NULL_TASK_ID: &str = "00000000-0000-0000-0000-000000000000";
const INTERRUPT: &str = "__interrupt__";
const ERROR: &str = "__error__";
const RESUME: &str = "__resume__";
const ERROR_SOURCE_NODE: &str = "__error_source_node__";
const RETURN: &str = "__return__";
const INPUT: &str = "__input__";

struct Imports {
    pregel_task: Py<PyAny>,
    sequence: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        Ok(Imports {
            pregel_task: py.import("langgraph.types")?.getattr("PregelTask")?.unbind(),
            sequence: py.import("collections.abc")?.getattr("Sequence")?.unbind(),
        })
    })
}

/// One task's status (`_task_status.TaskStatus`).
#[derive(Default)]
struct Status<'py> {
    output: Vec<Bound<'py, PyTuple>>,
    interrupts: Vec<Bound<'py, PyAny>>,
    error: Option<Bound<'py, PyAny>>,
}

/// `read_task_statuses(pending_writes)` by task id, plus the null task's
/// `(channel, value)` writes.
fn read_statuses<'py>(
    pending: &Bound<'py, PyAny>,
) -> PyResult<(HashMap<String, Status<'py>>, Vec<Bound<'py, PyTuple>>)> {
    let py = pending.py();
    let sequence = imports(py)?.sequence.bind(py);
    let mut statuses: HashMap<String, Status<'py>> = HashMap::new();
    let mut null_writes = Vec::new();
    if pending.is_none() {
        return Ok((statuses, null_writes));
    }
    for w in pending.try_iter()? {
        let w = w?;
        let tid = w.get_item(0)?;
        let tid = tid.str()?;
        let tid = tid.to_str()?;
        let channel = w.get_item(1)?;
        let value = w.get_item(2)?;
        if tid == NULL_TASK_ID {
            null_writes.push(PyTuple::new(py, [channel, value])?);
            continue;
        }
        let status = statuses.entry(tid.to_string()).or_default();
        let chan = channel.cast::<PyString>().ok().map(|s| s.to_str().map(str::to_owned)).transpose()?;
        match chan.as_deref() {
            Some(INTERRUPT) => {
                if value.is_instance(sequence)? {
                    for item in value.try_iter()? {
                        status.interrupts.push(item?);
                    }
                } else {
                    status.interrupts.push(value);
                }
            }
            Some(ERROR) => {
                if status.error.is_none() {
                    status.error = Some(value);
                }
            }
            Some(RESUME) | Some(ERROR_SOURCE_NODE) => {}
            _ => status.output.push(PyTuple::new(py, [channel, value])?),
        }
    }
    Ok((statuses, null_writes))
}

/// `debug.map_task_result_writes`: writes folded into a dict, repeated writes
/// of a channel gathered under `{"$writes": [...]}`.
fn map_result_writes<'py>(py: Python<'py>, writes: &[&Bound<'py, PyTuple>]) -> PyResult<Bound<'py, PyDict>> {
    let result = PyDict::new(py);
    let key = pyo3::intern!(py, "$writes");
    for w in writes {
        let (channel, value) = (w.get_item(0)?, w.get_item(1)?);
        match result.get_item(&channel)? {
            Some(existing) if !existing.is_none() => {
                let multiple = existing
                    .cast::<PyDict>()
                    .ok()
                    .and_then(|d| d.get_item(key).ok().flatten())
                    .filter(|v| v.is_instance_of::<PyList>());
                let list = match multiple {
                    Some(list) => list.cast_into::<PyList>()?,
                    None => PyList::new(py, [existing])?,
                };
                list.append(value)?;
                let wrapped = PyDict::new(py);
                wrapped.set_item(key, list)?;
                result.set_item(channel, wrapped)?;
            }
            _ => result.set_item(channel, value)?,
        }
    }
    Ok(result)
}

/// A finished task's result as `tasks_w_writes` reports it.
fn task_result<'py>(py: Python<'py>, status: &Status<'py>, output_keys: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let mut writes = Vec::with_capacity(status.output.len());
    for w in &status.output {
        if w.get_item(0)?.eq(RETURN)? {
            return w.get_item(1);
        }
        writes.push(w);
    }
    if let Ok(key) = output_keys.cast::<PyString>() {
        let mut filtered = Vec::new();
        for w in writes {
            if w.get_item(0)?.eq(key)? {
                filtered.push(w);
            }
        }
        let mapped = map_result_writes(py, &filtered)?;
        return Ok(match mapped.is_empty() {
            true => py.None().into_bound(py),
            false => mapped.get_item(key)?.unwrap_or_else(|| py.None().into_bound(py)),
        });
    }
    let mut filtered = Vec::new();
    for w in writes {
        if output_keys.contains(w.get_item(0)?)? {
            filtered.push(w);
        }
    }
    Ok(map_result_writes(py, &filtered)?.into_any())
}

/// The snapshot of the planned tasks: `(values, next, tasks, interrupts)`.
///
/// `plans` are `State.prepare`'s tuples; `task_states` maps the ids of
/// subgraph tasks to their state (or config); `live` is `get_state` of the
/// latest checkpoint (finished tasks' writes applied, `next` only the
/// unfinished, interrupts only the pending).
#[pyfunction]
pub(crate) fn snapshot_tasks<'py>(
    state: &Bound<'py, State>,
    plans: &Bound<'py, PyList>,
    pending_writes: &Bound<'py, PyAny>,
    task_states: &Bound<'py, PyDict>,
    output_keys: &Bound<'py, PyAny>,
    live: bool,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>, Bound<'py, PyTuple>, Bound<'py, PyTuple>)> {
    guarded("snapshot_tasks", || {
        let py = state.py();
        let (statuses, null_writes) = read_statuses(pending_writes)?;
        let empty = PyTuple::empty(py);
        if !null_writes.is_empty() {
            let task = TaskRef {
                name: PyString::intern(py, INPUT).into_any(),
                path: empty.clone().into_any(),
                triggers: empty.clone().into_any(),
                writes: PyList::new(py, null_writes)?.into_any(),
            };
            state.borrow().apply_with(py, &[task], false)?;
        }
        let mut plan_items = Vec::with_capacity(plans.len());
        for plan in plans.iter() {
            let plan = plan.cast_into::<PyTuple>()?;
            let id = plan.get_item(0)?;
            let status = statuses.get(id.cast::<PyString>()?.to_str()?);
            plan_items.push((plan, id, status));
        }
        if live {
            let mut written = Vec::new();
            for (plan, _, status) in &plan_items {
                if let Some(status) = status.filter(|s| !s.output.is_empty()) {
                    written.push(TaskRef {
                        name: plan.get_item(1)?,
                        path: plan.get_item(2)?,
                        triggers: plan.get_item(3)?,
                        writes: PyList::new(py, &status.output)?.into_any(),
                    });
                }
            }
            if !written.is_empty() {
                state.borrow().apply_with(py, &written, false)?;
            }
        }
        let pregel_task = imports(py)?.pregel_task.bind(py);
        let mut next = Vec::new();
        let mut tasks = Vec::with_capacity(plan_items.len());
        let mut interrupts = Vec::new();
        for (plan, id, status) in &plan_items {
            let name = plan.get_item(1)?;
            let finished = status.is_some_and(|s| !s.output.is_empty());
            if !(live && finished) {
                next.push(name.clone());
            }
            let (error, raised, result) = match status {
                Some(s) => {
                    let raised: Vec<Bound<'py, PyAny>> =
                        if live && finished { Vec::new() } else { s.interrupts.clone() };
                    let result =
                        if finished { task_result(py, s, output_keys)? } else { py.None().into_bound(py) };
                    (s.error.clone().unwrap_or_else(|| py.None().into_bound(py)), raised, result)
                }
                None => (py.None().into_bound(py), Vec::new(), py.None().into_bound(py)),
            };
            interrupts.extend(raised.iter().cloned());
            let sub_state = task_states.get_item(id)?.unwrap_or_else(|| py.None().into_bound(py));
            tasks.push(pregel_task.call1((
                id,
                name,
                plan.get_item(2)?,
                error,
                PyTuple::new(py, raised)?,
                sub_state,
                result,
            ))?);
        }
        let values = state.call_method1(pyo3::intern!(py, "read_output"), (output_keys,))?;
        Ok((values, PyTuple::new(py, next)?, PyTuple::new(py, tasks)?, PyTuple::new(py, interrupts)?))
    })
}
