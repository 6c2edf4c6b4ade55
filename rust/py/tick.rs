//! The two ends of a superstep on the run's `_Loop`, natively:
//! - [`tick_prelude`]: LangGraph's `tick()` up to running the tasks — the
//!   recursion limit, planning and building the step's tasks, the checkpoint
//!   event, `interrupt_before`, a drain request, the `tasks` events, the
//!   writes of tasks already done;
//! - [`after_tick`] (sync runs, and async runs that save nothing): apply the
//!   step's writes, the step's checkpoint (`checkpoint_put.rs`), `interrupt_after`.
//!
//! What is not the common case calls the loop's Python methods, which hold
//! that logic: the recursion limit reached, pending writes to reapply, an
//! interrupt check, `tasks`/`debug` events, delta channels, a checkpointer.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PyString};

use crate::boundary::guarded;
use crate::loop_fields::{Fields, F};
use crate::state_py::State;

struct Imports {
    graph_interrupt: Py<PyAny>,
    run_control: Py<PyAny>,
    key_resuming: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let constants = py.import("langgraph._internal._constants")?;
        Ok(Imports {
            graph_interrupt: py.import("langgraph.errors")?.getattr("GraphInterrupt")?.unbind(),
            run_control: py.import("langgraph.runtime")?.getattr("RunControl")?.unbind(),
            key_resuming: constants.getattr("CONFIG_KEY_RESUMING")?.unbind(),
        })
    })
}

/// `_Loop._prepare_tasks()`: plan the step in the core, build its tasks.
#[pyfunction]
pub fn prepare_tasks(loop_: &Bound<'_, PyAny>) -> PyResult<()> {
    guarded("prepare_tasks", || {
        let py = loop_.py();
        let lf = Fields::of(loop_)?;
        let stop = lf.get(F::Stop)?;
        let stop: i64 = match stop.extract() {
            Ok(s) => s,
            Err(_) => py.import("builtins")?.getattr("int")?.call1((stop,))?.extract()?,
        };
        let state = lf.get(F::State)?.cast_into::<State>()?;
        let checkpoint_id = lf.get(F::Checkpoint)?.get_item(intern!(py, "id"))?;
        let (parent_ns, step) = (lf.get(F::ParentNs)?, lf.get(F::Step)?);
        let (updated, sha1_ids) = (lf.get(F::UpdatedChannels)?, lf.get(F::Sha1Ids)?);
        let plans = match plan_natively(&state, &checkpoint_id, &parent_ns, &step, stop, &updated, &sha1_ids)? {
            Some(plans) => plans,
            // (arguments of other types: the method's own conversions and errors)
            None => state.call_method1(
                intern!(py, "prepare"),
                (checkpoint_id, parent_ns, step, stop, updated, sha1_ids),
            )?,
        };
        let tasks = crate::task_build::build_tasks(loop_, &plans)?;
        lf.set(F::Tasks, tasks)
    })
}

/// `state.prepare(...)` called in Rust (no method call through Python);
/// None when an argument is not of the type that call takes.
fn plan_natively<'py>(
    state: &Bound<'py, State>,
    checkpoint_id: &Bound<'py, PyAny>,
    parent_ns: &Bound<'py, PyAny>,
    step: &Bound<'py, PyAny>,
    stop: i64,
    updated: &Bound<'py, PyAny>,
    sha1_ids: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = state.py();
    let (Ok(checkpoint_id), Ok(parent_ns), Ok(step), Ok(sha1_ids)) = (
        checkpoint_id.cast::<PyString>(),
        parent_ns.cast::<PyString>(),
        step.cast_exact::<PyInt>(),
        sha1_ids.cast::<PyBool>(),
    ) else {
        return Ok(None);
    };
    let Ok(step) = step.extract::<i64>() else {
        return Ok(None);
    };
    let plans = state.borrow().prepare(
        py,
        checkpoint_id.to_str()?,
        parent_ns.to_str()?,
        step,
        stop,
        (!updated.is_none()).then_some(updated),
        sha1_ids.is_true(),
    )?;
    Ok(Some(plans.into_bound(py).into_any()))
}

/// Whether the run's `RunControl` asks to drain (read without entering
/// LangGraph's property for its own class).
fn drain_requested(im: &Imports, control: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = control.py();
    if control.get_type().is(im.run_control.bind(py)) {
        return Ok(!control.getattr(intern!(py, "_drain_reason"))?.is_none());
    }
    control.getattr(intern!(py, "drain_requested"))?.is_truthy()
}

/// Whether the run streams checkpoint events (`checkpoints`, or `debug`).
fn streams_checkpoints(lf: &Fields<'_, '_>) -> PyResult<bool> {
    let py = lf.obj().py();
    let stream = lf.get(F::Stream)?;
    if stream.is_none() {
        return Ok(false);
    }
    let modes = stream.getattr(intern!(py, "modes"))?;
    Ok(modes.contains(intern!(py, "checkpoints"))? || modes.contains(intern!(py, "debug"))?)
}

/// `tick()` up to running the step's tasks; true if they should run.
#[pyfunction]
pub fn tick_prelude(loop_: &Bound<'_, PyAny>) -> PyResult<bool> {
    guarded("tick", || {
        let py = loop_.py();
        let im = imports(py)?;
        let lf = Fields::of(loop_)?;
        if lf.get(F::Step)?.gt(lf.get(F::Stop)?)? {
            return loop_.call_method0(intern!(py, "_tick_out_of_steps"))?.is_truthy();
        }
        prepare_tasks(loop_)?;
        if !lf.is_none(F::Checkpointer)? && streams_checkpoints(&lf)? {
            loop_.call_method0(intern!(py, "_emit_checkpoint"))?;
        }
        let tasks = lf.get(F::Tasks)?.cast_into::<PyDict>()?;
        if tasks.is_empty() {
            lf.set(F::Status, intern!(py, "done"))?;
            return Ok(false);
        }
        if !lf.truthy(F::IsReplaying)? && lf.truthy(F::CheckpointPendingWrites)? {
            loop_.call_method0(intern!(py, "_reapply_pending_writes"))?;
        }
        let before = lf.get(F::InterruptBefore)?;
        if before.is_truthy()? && loop_.call_method1(intern!(py, "_should_interrupt"), (&before,))?.is_truthy()? {
            lf.set(F::Status, intern!(py, "interrupt_before"))?;
            return Err(PyErr::from_value(im.graph_interrupt.bind(py).call0()?));
        }
        let control = lf.get(F::Control)?;
        if !control.is_none() && drain_requested(im, &control)? {
            lf.set(F::Status, intern!(py, "draining"))?;
            return Ok(false);
        }
        if lf.truthy(F::StreamsTasks)? {
            loop_.call_method0(intern!(py, "_emit_tasks"))?;
        }
        let kwargs = PyDict::new(py);
        kwargs.set_item(intern!(py, "cached"), true)?;
        for task in tasks.values().iter() {
            let writes = crate::runtime::task_attr(&task, intern!(py, "writes"))?;
            if writes.is_truthy()? {
                loop_.call_method(
                    intern!(py, "output_writes"),
                    (crate::runtime::task_attr(&task, intern!(py, "id"))?, writes),
                    Some(&kwargs),
                )?;
            }
        }
        Ok(true)
    })
}

/// The tasks of the step that have no writes yet (those to run).
#[pyfunction]
pub fn tasks_to_run<'py>(loop_: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let py = loop_.py();
    let out = PyList::empty(py);
    for task in Fields::of(loop_)?.get(F::Tasks)?.cast_into::<PyDict>()?.values().iter() {
        if !crate::runtime::task_attr(&task, intern!(py, "writes"))?.is_truthy()? {
            out.append(task)?;
        }
    }
    Ok(out)
}

/// A sync run's `after_tick()`: apply the step's writes, the step's
/// checkpoint, `interrupt_after`.
#[pyfunction]
pub fn after_tick(loop_: &Bound<'_, PyAny>) -> PyResult<()> {
    guarded("after_tick", || {
        let py = loop_.py();
        let im = imports(py)?;
        let lf = Fields::of(loop_)?;
        let delta = lf.truthy(F::DeltaNames)?;
        if delta {
            // delta channels: the loop's Python (snapshot cadence, exit writes)
            loop_.call_method0(intern!(py, "_apply_step"))?;
            let metadata = PyDict::new(py);
            metadata.set_item(intern!(py, "source"), intern!(py, "loop"))?;
            loop_.call_method1(intern!(py, "_put_checkpoint"), (metadata,))?;
        } else {
            crate::step_commit::apply_step(loop_)?;
            crate::checkpoint_put::put_checkpoint_of(loop_, intern!(py, "loop"))?;
        }
        if lf.truthy(F::InterruptAfter)? {
            loop_.call_method0(intern!(py, "_after_checkpoint"))?;
        } else {
            crate::checkpoint_put::configurable(loop_)?.call_method1(intern!(py, "pop"), (im.key_resuming.bind(py), py.None()))?;
        }
        Ok(())
    })
}
