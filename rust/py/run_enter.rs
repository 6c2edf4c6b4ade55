//! A run's loop entered from an empty checkpoint, natively: what LangGraph's
//! `PregelLoop.__enter__` and `_first` do for a run with nothing saved (no
//! saver, or a thread with no checkpoint yet) whose input is not a `Command`:
//! load the empty checkpoint, seed the run's state, map the input and apply
//! it (`_loop_load.py`'s `_load(None)`, `_init_state(None)`, `_first_writes`
//! and `_apply_input` for that case). Any other start — a checkpoint loaded,
//! a `Command`, delta channels, an addressed checkpoint — takes the general
//! path in `_loop_load.py`. `after_first` ends both paths.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyInt, PyList, PyString, PyTuple};

use crate::boundary::guarded;
use crate::runtime::object_new;

struct Imports {
    command: Py<PyAny>,
    empty_input_error: Py<PyAny>,
    channels_view: Py<PyAny>,
    state: Py<PyAny>,
    replay_state: Py<PyAny>,
    graph_resume_event: Py<PyAny>,
    key_resuming: Py<PyAny>,
    key_replay_state: Py<PyAny>,
    key_checkpoint_ns: Py<PyAny>,
    input: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let constants = py.import("langgraph._internal._constants")?;
        Ok(Imports {
            command: py.import("langgraph.types")?.getattr("Command")?.unbind(),
            empty_input_error: py
                .import("langgraph.errors")?
                .getattr("EmptyInputError")?
                .unbind(),
            channels_view: py
                .import("langgraph_rs._channels_view")?
                .getattr("_ChannelsView")?
                .unbind(),
            state: py.get_type::<crate::state_py::State>().into_any().unbind(),
            replay_state: py
                .import("langgraph._internal._replay")?
                .getattr("ReplayState")?
                .unbind(),
            graph_resume_event: py
                .import("langgraph.callbacks")?
                .getattr("GraphResumeEvent")?
                .unbind(),
            key_resuming: constants.getattr("CONFIG_KEY_RESUMING")?.unbind(),
            key_replay_state: constants.getattr("CONFIG_KEY_REPLAY_STATE")?.unbind(),
            key_checkpoint_ns: constants.getattr("CONFIG_KEY_CHECKPOINT_NS")?.unbind(),
            input: constants.getattr("INPUT")?.unbind(),
        })
    })
}

/// `config.get("configurable", {})` as a dict (a new empty one when absent).
fn configurable<'py>(config: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = config.py();
    match config
        .cast::<PyDict>()?
        .get_item(intern!(py, "configurable"))?
    {
        Some(c) => Ok(c.cast_into::<PyDict>()?),
        None => Ok(PyDict::new(py)),
    }
}

/// Whether this start is the empty-checkpoint one (read before anything changes).
fn applies(loop_: &Bound<'_, PyAny>, im: &Imports) -> PyResult<bool> {
    let py = loop_.py();
    let spec = loop_.getattr(intern!(py, "spec"))?;
    // (reducer channels need no check: an empty checkpoint has none to
    // rebuild from the saver's history, `_replay_targets`)
    if loop_.getattr(intern!(py, "_delta_names"))?.is_truthy()?
        || loop_.getattr(intern!(py, "_addressed"))?.is_truthy()?
        || loop_.getattr(intern!(py, "_deferred_puts"))?.is_truthy()?
        || loop_
            .getattr(intern!(py, "input"))?
            .is_instance(im.command.bind(py))?
    {
        return Ok(false);
    }
    // a float limit with managed values: the general path raises
    let limit = loop_
        .getattr(intern!(py, "config"))?
        .get_item(intern!(py, "recursion_limit"))?;
    Ok(
        !spec.getattr(intern!(py, "managed"))?.is_truthy()?
            || limit.is_exact_instance_of::<PyInt>(),
    )
}

/// The loop's start from an empty checkpoint (see the module docs). `None`:
/// not this case, nothing done (the caller takes the general path); else
/// whether the input was applied (then its checkpoint is put next; `False`:
/// no input and `CONFIG_KEY_RESUMING` set, as `_first_writes` allows).
#[pyfunction]
pub fn start_empty(loop_: &Bound<'_, PyAny>) -> PyResult<Option<bool>> {
    guarded("start_empty", || {
        let py = loop_.py();
        let im = imports(py)?;
        if !applies(loop_, im)? {
            return Ok(None);
        }
        // _load(None)
        let set = |k: &Bound<'_, PyString>, v: &Bound<'_, PyAny>| loop_.setattr(k, v);
        let version = crate::checkpoint_put::latest_version(py)?;
        let id =
            crate::checkpoint_put::new_checkpoint_id(py, &(-2i64).into_pyobject(py)?.into_any())?;
        let checkpoint = crate::run_start::empty_checkpoint(py, &version, &id)?;
        let old = loop_.getattr(intern!(py, "checkpoint_config"))?;
        let conf = PyDict::new(py);
        conf.set_item(im.key_checkpoint_ns.bind(py), "")?;
        conf.update(configurable(&old)?.as_mapping())?;
        let checkpoint_config = old.cast::<PyDict>()?.copy()?;
        checkpoint_config.set_item(intern!(py, "configurable"), conf)?;
        let none = py.None().into_bound(py);
        set(
            intern!(py, "_has_persisted_parent"),
            &pyo3::types::PyBool::new(py, false),
        )?;
        set(intern!(py, "prev_checkpoint_config"), &none)?;
        let metadata = PyDict::new(py);
        metadata.set_item(intern!(py, "step"), -2)?;
        set(intern!(py, "checkpoint_metadata"), &metadata)?;
        set(intern!(py, "checkpoint_pending_writes"), &PyList::empty(py))?;
        set(intern!(py, "checkpoint_config"), &checkpoint_config)?;
        set(intern!(py, "checkpoint_id_saved"), &id)?;
        set(intern!(py, "checkpoint"), &checkpoint)?;
        let sha1 = version.le(1)?;
        set(intern!(py, "sha1_ids"), &pyo3::types::PyBool::new(py, sha1))?;
        set(
            intern!(py, "_initial_checkpoint_config"),
            &checkpoint_config,
        )?;
        let checkpointer = loop_.getattr(intern!(py, "checkpointer"))?;
        let exit_writes = if loop_
            .getattr(intern!(py, "durability"))?
            .eq(intern!(py, "exit"))?
            && !checkpointer.is_none()
        {
            PyList::empty(py).into_any()
        } else {
            none.clone()
        };
        set(intern!(py, "_exit_delta_writes"), &exit_writes)?;
        set(intern!(py, "status"), intern!(py, "input"))?;
        let step = (-1i64).into_pyobject(py)?.into_any();
        set(intern!(py, "step"), &step)?;
        let config = loop_.getattr(intern!(py, "config"))?;
        let limit = config.get_item(intern!(py, "recursion_limit"))?;
        let stop = step.add(&limit)?.add(1)?;
        set(intern!(py, "stop"), &stop)?;
        set(
            intern!(py, "checkpoint_previous_versions"),
            &PyDict::new(py),
        )?;
        set(intern!(py, "updated_channels"), &none)?;
        // _init_state(None)
        let spec = loop_.getattr(intern!(py, "spec"))?;
        let next_version = if checkpointer.is_truthy()? {
            loop_.getattr(intern!(py, "next_version"))?
        } else {
            none.clone()
        };
        let state = im.state.bind(py).call1((
            spec.getattr(intern!(py, "graph"))?,
            &checkpoint,
            next_version,
        ))?;
        set(intern!(py, "state"), &state)?;
        let view = object_new(im.channels_view.bind(py))?;
        view.setattr(intern!(py, "_state"), &state)?;
        view.setattr(
            intern!(py, "_names"),
            loop_.getattr(intern!(py, "channel_names"))?,
        )?;
        view.setattr(
            intern!(py, "_order"),
            loop_.getattr(intern!(py, "channel_order"))?,
        )?;
        set(intern!(py, "channels"), &view)?;
        // _first_writes: nothing saved, so not resuming nor time-travelling
        let superseded = loop_.getattr(intern!(py, "_addressed_checkpoint_superseded"))?;
        set(intern!(py, "is_replaying"), &superseded)?;
        set(intern!(py, "_replay_checkpoint_id"), &none)?;
        let writes = crate::run_start::map_input(
            &loop_.getattr(intern!(py, "input_keys"))?,
            &loop_.getattr(intern!(py, "input"))?,
        )?;
        if writes.is_empty() {
            if configurable(&config)?.contains(im.key_resuming.bind(py))? {
                return Ok(Some(false));
            }
            let keys = loop_.getattr(intern!(py, "input_keys"))?;
            let msg = format!("Received no input for {}", keys.str()?);
            return Err(PyErr::from_value(
                im.empty_input_error.bind(py).call1((msg,))?,
            ));
        }
        // _apply_input: the tasks LangGraph prepares to discard (every node a
        // candidate), then the input's writes
        let discard = state.call_method1(
            intern!(py, "prepare"),
            (
                checkpoint.get_item(intern!(py, "id"))?,
                loop_.getattr(intern!(py, "parent_ns"))?,
                &step,
                py.get_type::<PyInt>().call1((&stop,))?,
                &none,
                sha1,
            ),
        )?;
        let tasks = PyList::empty(py);
        let empty = PyTuple::empty(py);
        for p in discard.try_iter()? {
            let p = p?;
            tasks.append((p.get_item(1)?, p.get_item(2)?, p.get_item(3)?, &empty))?;
        }
        tasks.append((im.input.bind(py), &empty, &empty, writes))?;
        let updated = state.call_method1(intern!(py, "apply_writes"), (tasks,))?;
        set(intern!(py, "updated_channels"), &updated)?;
        Ok(Some(true))
    })
}

/// `_after_first(is_resuming)`: the run's config marks whether it resumes
/// (and the checkpoint it replays from), the loop goes to "pending", and a
/// resume queues its graph callback event.
#[pyfunction]
pub fn after_first(loop_: &Bound<'_, PyAny>, is_resuming: bool) -> PyResult<()> {
    guarded("after_first", || {
        let py = loop_.py();
        let im = imports(py)?;
        if !loop_.getattr(intern!(py, "is_nested"))?.is_truthy()? {
            let config = loop_.getattr(intern!(py, "config"))?;
            let rid = loop_.getattr(intern!(py, "_replay_checkpoint_id"))?;
            let replay = if rid.is_none() {
                rid
            } else {
                im.replay_state.bind(py).call1((rid,))?
            };
            let resuming = pyo3::types::PyBool::new(py, is_resuming).to_owned().into_any();
            let patched = crate::checkpoint_put::patch_configurable(
                &config,
                &[(im.key_resuming.bind(py), resuming), (im.key_replay_state.bind(py), replay)],
            )?;
            loop_.setattr(intern!(py, "config"), patched)?;
        }
        let status = intern!(py, "pending");
        loop_.setattr(intern!(py, "status"), status)?;
        if is_resuming {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "run_id"), py.None())?;
            kwargs.set_item(intern!(py, "status"), status)?;
            let checkpoint = loop_.getattr(intern!(py, "checkpoint"))?;
            kwargs.set_item(
                intern!(py, "checkpoint_id"),
                checkpoint.get_item(intern!(py, "id"))?,
            )?;
            kwargs.set_item(
                intern!(py, "checkpoint_ns"),
                loop_.getattr(intern!(py, "checkpoint_ns"))?,
            )?;
            let event = im.graph_resume_event.bind(py).call((), Some(&kwargs))?;
            // (the loop's shared empty tuple until an event is queued)
            let queued = loop_.getattr(intern!(py, "lifecycle"))?;
            match queued.cast::<PyList>() {
                Ok(list) => list.append(event)?,
                Err(_) => loop_.setattr(intern!(py, "lifecycle"), PyList::new(py, [event])?)?,
            }
        }
        Ok(())
    })
}
