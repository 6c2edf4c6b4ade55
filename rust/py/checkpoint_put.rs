//! A sync run's saver calls, natively in the common case (no delta channel,
//! no untracked value in a `Send`):
//! - [`save_writes`]: `put_writes` of a task's writes (LangGraph's
//!   `PregelLoop.put_writes` → `checkpointer.put_writes`);
//! - [`put_step_checkpoint`]: the step's `source="loop"` checkpoint
//!   (`_put_checkpoint`: the checkpoint, its metadata, the new versions, then
//!   `checkpointer.put`); [`next_checkpoint_unsaved`] when nothing is saved.
//!
//! A saver call that fails is recorded as LangGraph's background save records
//! it (the loop's `_saver_failed`): raised at exit, or after the step with
//! `durability="sync"`; a failed checkpoint fails every later one.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::boundary::guarded;
use crate::loop_fields::{Fields, F};

struct Imports {
    exception: Py<PyAny>,
    key_checkpoint_ns: Py<PyAny>,
    key_checkpoint_id: Py<PyAny>,
    key_checkpoint_map: Py<PyAny>,
    latest_version: Py<PyAny>,
    loop_checkpoint: Py<PyAny>,
    /// `_native.checkpoint_id`, what `loop_checkpoint.checkpoint_id` is
    /// unless replaced
    native_checkpoint_id: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let constants = py.import("langgraph._internal._constants")?;
        Ok(Imports {
            exception: py.import("builtins")?.getattr("Exception")?.unbind(),
            key_checkpoint_ns: constants.getattr("CONFIG_KEY_CHECKPOINT_NS")?.unbind(),
            key_checkpoint_id: constants.getattr("CONFIG_KEY_CHECKPOINT_ID")?.unbind(),
            key_checkpoint_map: constants.getattr("CONFIG_KEY_CHECKPOINT_MAP")?.unbind(),
            latest_version: py
                .import("langgraph.pregel._checkpoint")?
                .getattr("LATEST_VERSION")?
                .unbind(),
            // its `checkpoint_id` is read at each use: tests replace it
            loop_checkpoint: py
                .import("langgraph_rs._loop_checkpoint")?
                .unbind()
                .into_any(),
            native_checkpoint_id: py.import("langgraph_rs._native")?.getattr("checkpoint_id")?.unbind(),
        })
    })
}

/// LangGraph's checkpoint format version (`LATEST_VERSION`).
pub(crate) fn latest_version(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    Ok(imports(py)?.latest_version.bind(py).clone())
}

/// A new checkpoint's id for `step`: `_loop_checkpoint.checkpoint_id(step)`,
/// looked up at each call (tests replace it).
pub(crate) fn new_checkpoint_id<'py>(
    py: Python<'py>,
    step: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let im = imports(py)?;
    let make = im.loop_checkpoint.bind(py).getattr(intern!(py, "checkpoint_id"))?;
    if make.is(im.native_checkpoint_id.bind(py)) {
        if let Ok(step) = step.cast_exact::<pyo3::types::PyInt>().map(|s| s.extract::<i64>()) {
            // (called here: no call through Python)
            return Ok(PyString::new(py, &crate::ids::new_id(py, step?)?).into_any());
        }
    }
    make.call1((step,))
}

/// LangGraph's `patch_configurable(config, patch)`:
/// `{**config, "configurable": {**config.get("configurable", {}), **patch}}`,
/// keys in LangGraph's order.
pub(crate) fn patch_configurable<'py>(
    config: &Bound<'py, PyAny>,
    patch: &[(&Bound<'py, PyAny>, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyDict>> {
    let py = config.py();
    let out = config.cast::<PyDict>()?.copy()?;
    let conf = intern!(py, "configurable");
    let inner = match out.get_item(conf)? {
        Some(c) => c.cast_into::<PyDict>()?.copy()?,
        None => PyDict::new(py),
    };
    for (k, v) in patch {
        inner.set_item(k, v)?;
    }
    out.set_item(conf, inner)?;
    Ok(out)
}

/// The run's `configurable` dict.
pub(crate) fn configurable<'py>(loop_: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = loop_.py();
    Ok(Fields::of(loop_)?
        .get(F::Config)?
        .get_item(intern!(py, "configurable"))?
        .cast_into::<PyDict>()?)
}

/// The run's `checkpoint_ns` (`config["configurable"].get(CONFIG_KEY_CHECKPOINT_NS, "")`).
fn run_ns<'py>(im: &Imports, loop_: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = loop_.py();
    Ok(
        match configurable(loop_)?.get_item(im.key_checkpoint_ns.bind(py))? {
            Some(ns) => ns,
            None => intern!(py, "").clone().into_any(),
        },
    )
}

/// `_save(fn, args, put=...)` of a sync run: a saver call whose failure is
/// recorded, not raised; made by the run's saves lane when it has one.
fn save(
    loop_: &Bound<'_, PyAny>,
    call: &Bound<'_, PyAny>,
    args: &Bound<'_, PyTuple>,
    put: bool,
) -> PyResult<()> {
    let py = loop_.py();
    loop_.setattr(intern!(py, "_saved"), true)?;
    let saves = loop_.getattr(intern!(py, "_saves"))?;
    if !saves.is_none() {
        // in the background, in order (as `_SyncLoop._save`)
        saves.call_method1(
            intern!(py, "submit"),
            (loop_.getattr(intern!(py, "_save_now"))?, call, args, put),
        )?;
        return Ok(());
    }
    if put && !loop_.getattr(intern!(py, "_put_checkpoint_exc"))?.is_none() {
        return Ok(());
    }
    match call.call1(args) {
        Ok(_) => Ok(()),
        Err(e) if e.is_instance(py, imports(py)?.exception.bind(py)) => {
            let exc = e.into_value(py);
            let fails = if put {
                true
            } else {
                loop_
                    .call_method1(intern!(py, "_fails_checkpoints"), (false, args))?
                    .is_truthy()?
            };
            loop_.call_method1(intern!(py, "_saver_failed"), (exc, fails))?;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A sync run's `put_writes` saver call for a task's writes (the run has a
/// checkpointer, durability is not "exit").
pub(crate) fn save_writes(
    loop_: &Bound<'_, PyAny>,
    task_id: &Bound<'_, PyAny>,
    writes: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    if loop_.getattr(intern!(py, "_is_async"))?.is_truthy()? {
        let config = loop_.call_method0(intern!(py, "_writes_config"))?;
        let args =
            loop_.call_method1(intern!(py, "_put_writes_args"), (config, writes, task_id))?;
        loop_.call_method1(intern!(py, "_save_writes"), (args,))?;
        return Ok(());
    }
    let im = imports(py)?;
    let id = lf.get(F::Checkpoint)?.get_item(intern!(py, "id"))?;
    let config = patch_configurable(
        &lf.get(F::CheckpointConfig)?,
        &[
            (im.key_checkpoint_ns.bind(py), run_ns(im, loop_)?),
            (im.key_checkpoint_id.bind(py), id),
        ],
    )?;
    let args = if loop_
        .getattr(intern!(py, "_put_writes_path"))?
        .is_truthy()?
    {
        let task = lf.get(F::Tasks)?.cast_into::<PyDict>()?.get_item(task_id)?;
        let path = match task {
            Some(t) => crate::task_path_str(&crate::runtime::task_attr(&t, intern!(py, "path"))?)?,
            None => String::new(),
        };
        PyTuple::new(
            py,
            [
                config.into_any(),
                writes.clone(),
                task_id.clone(),
                path.into_pyobject(py)?.into_any(),
            ],
        )?
    } else {
        PyTuple::new(py, [config.into_any(), writes.clone(), task_id.clone()])?
    };
    let saver = lf.get(F::Checkpointer)?;
    save(
        loop_,
        &saver.getattr(intern!(py, "put_writes"))?,
        &args,
        false,
    )
}

/// `get_new_channel_versions(previous, current)`.
///
/// `previous` is nearly always a copy of the last checkpoint's versions, so
/// both are walked side by side while their keys are the same objects in the
/// same order (`current` may have more, at the end); a channel not written
/// since holds the very same version object, which is not greater than
/// itself (for the `str`/`int` versions savers make: others are compared).
fn new_channel_versions<'py>(
    previous: &Bound<'py, PyAny>,
    current: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    if !previous.is_truthy()? {
        return Ok(current.clone().into_any());
    }
    let py = current.py();
    let null = match current.iter().next() {
        Some((_, v)) => v.get_type().call0()?,
        None => py.None().into_bound(py),
    };
    let out = PyDict::new(py);
    let previous = previous.cast::<PyDict>()?;
    // (walked with `PyDict_Next`; each key and value read is taken as a new
    // reference, `from_borrowed_ptr`, so it outlives any change to the dicts)
    let (mut pos, mut side_pos) = (0isize, 0isize);
    let mut in_step = true;
    loop {
        let (mut k, mut v) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: a live dict; `k`, `v` are borrowed references it keeps.
        if unsafe { pyo3::ffi::PyDict_Next(current.as_ptr(), &mut pos, &mut k, &mut v) } == 0 {
            break;
        }
        // SAFETY: borrowed from `current`, alive for this iteration.
        let (k, v) = unsafe {
            (
                Bound::from_borrowed_ptr(py, k),
                Bound::from_borrowed_ptr(py, v),
            )
        };
        let mut before = None;
        if in_step {
            let (mut pk, mut pv) = (std::ptr::null_mut(), std::ptr::null_mut());
            // SAFETY: as above, for `previous`.
            let more = unsafe {
                pyo3::ffi::PyDict_Next(previous.as_ptr(), &mut side_pos, &mut pk, &mut pv)
            } != 0;
            if more && std::ptr::eq(pk, k.as_ptr()) {
                // SAFETY: borrowed from `previous`, alive for this iteration.
                before = Some(unsafe { Bound::from_borrowed_ptr(py, pv) });
            } else {
                in_step = false; // out of step: looked up from here on
            }
        }
        let before = match before {
            Some(pv) => pv,
            None => previous.get_item(&k)?.unwrap_or_else(|| null.clone()),
        };
        if before.is(&v)
            && (v.is_exact_instance_of::<PyString>()
                || v.is_exact_instance_of::<pyo3::types::PyInt>())
        {
            continue;
        }
        if v.gt(before)? {
            out.set_item(k, v)?;
        }
    }
    Ok(out.into_any())
}

/// A checkpoint's metadata (its `source`, the step, the parents), set as the
/// loop's; a new checkpoint's task ids are xxh3 ones.
fn step_metadata<'py>(
    im: &Imports,
    loop_: &Bound<'py, PyAny>,
    step: &Bound<'py, PyAny>,
    source: &Bound<'py, PyString>,
) -> PyResult<Bound<'py, PyDict>> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    let metadata = PyDict::new(py);
    metadata.set_item(intern!(py, "source"), source)?;
    metadata.set_item(intern!(py, "step"), step)?;
    let parents = match configurable(loop_)?.get_item(im.key_checkpoint_map.bind(py))? {
        Some(map) => map,
        None => PyDict::new(py).into_any(),
    };
    metadata.set_item(intern!(py, "parents"), parents)?;
    lf.set(F::CheckpointMetadata, &metadata)?;
    lf.set(F::Sha1Ids, false)?;
    Ok(metadata)
}

/// `_put_checkpoint({"source": source})` of a run that saves nothing and has
/// no delta channel: the metadata and the id (it seeds the next task ids)
/// move on, the step advances.
pub(crate) fn next_checkpoint_unsaved(
    loop_: &Bound<'_, PyAny>,
    source: &Bound<'_, PyString>,
) -> PyResult<()> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    let im = imports(py)?;
    let step = lf.get(F::Step)?;
    step_metadata(im, loop_, &step, source)?;
    let checkpoint = lf.get(F::Checkpoint)?.cast_into::<PyDict>()?.copy()?;
    checkpoint.set_item(intern!(py, "v"), im.latest_version.bind(py))?;
    let id = new_checkpoint_id(py, &step)?;
    checkpoint.set_item(intern!(py, "id"), id)?;
    lf.set(F::Checkpoint, checkpoint)?;
    lf.set(F::Step, step.add(1)?)
}

/// A sync run's `_put_checkpoint({"source": source})` with no delta channel;
/// the saved-nothing case is [`next_checkpoint_unsaved`].
pub(crate) fn put_step_checkpoint(
    loop_: &Bound<'_, PyAny>,
    source: &Bound<'_, PyString>,
) -> PyResult<()> {
    let py = loop_.py();
    let lf = Fields::of(loop_)?;
    let im = imports(py)?;
    let durability_exit = lf.get(F::Durability)?.eq(intern!(py, "exit"))?;
    let untracked = lf
        .get(F::Spec)?
        .getattr(intern!(py, "untracked"))?
        .is_truthy()?;
    if durability_exit || untracked || loop_.getattr(intern!(py, "_is_async"))?.is_truthy()? {
        let metadata = PyDict::new(py);
        metadata.set_item(intern!(py, "source"), source)?;
        loop_.call_method1(intern!(py, "_put_checkpoint"), (metadata,))?;
        return Ok(());
    }
    let step = lf.get(F::Step)?;
    let metadata = step_metadata(im, loop_, &step, source)?;
    let (values, versions, seen): (Bound<'_, PyDict>, Bound<'_, PyDict>, Bound<'_, PyAny>) = lf
        .get(F::State)?
        .call_method0(intern!(py, "checkpoint"))?
        .extract()?;
    let checkpoint = PyDict::new(py);
    checkpoint.set_item(intern!(py, "v"), im.latest_version.bind(py))?;
    checkpoint.set_item(intern!(py, "ts"), crate::ids::now_iso()?)?;
    let id = new_checkpoint_id(py, &step)?;
    checkpoint.set_item(intern!(py, "id"), &id)?;
    checkpoint.set_item(intern!(py, "channel_values"), &values)?;
    checkpoint.set_item(intern!(py, "channel_versions"), &versions)?;
    checkpoint.set_item(intern!(py, "versions_seen"), seen)?;
    let updated = lf.get(F::UpdatedChannels)?;
    let updated = if updated.is_none() {
        updated
    } else {
        let sorted = PyList::new(py, updated.try_iter()?.collect::<PyResult<Vec<_>>>()?)?;
        sorted.sort()?;
        sorted.into_any()
    };
    checkpoint.set_item(intern!(py, "updated_channels"), updated)?;
    lf.set(F::Checkpoint, &checkpoint)?;
    let saved_config = lf.get(F::CheckpointConfig)?;
    let has_id = saved_config
        .get_item(intern!(py, "configurable"))?
        .cast_into::<PyDict>()?
        .get_item(im.key_checkpoint_id.bind(py))?
        .map(|v| v.is_truthy())
        .transpose()?
        .unwrap_or(false);
    lf.set(
        F::PrevCheckpointConfig,
        if has_id {
            saved_config.clone()
        } else {
            py.None().into_bound(py)
        },
    )?;
    let put_config = patch_configurable(
        &saved_config,
        &[(im.key_checkpoint_ns.bind(py), run_ns(im, loop_)?)],
    )?;
    let previous = lf.get(F::CheckpointPreviousVersions)?;
    let new_versions = new_channel_versions(&previous, &versions)?;
    lf.set(F::CheckpointPreviousVersions, versions.copy()?)?;
    let saved = checkpoint.copy()?;
    saved.set_item(intern!(py, "channel_values"), values.copy()?)?;
    let args = PyTuple::new(
        py,
        [
            put_config.clone().into_any(),
            saved.into_any(),
            metadata.into_any(),
            new_versions,
        ],
    )?;
    lf.set(
        F::CheckpointConfig,
        patch_configurable(put_config.as_any(), &[(im.key_checkpoint_id.bind(py), id)])?,
    )?;
    lf.set(F::Step, step.add(1)?)?;
    let saver = lf.get(F::Checkpointer)?;
    save(loop_, &saver.getattr(intern!(py, "put"))?, &args, true)
}

/// `_put_checkpoint({"source": source})` of a run with no delta channel: a
/// sync run's (saved or not), or a run's that saves nothing.
pub(crate) fn put_checkpoint_of(
    loop_: &Bound<'_, PyAny>,
    source: &Bound<'_, PyString>,
) -> PyResult<()> {
    if Fields::of(loop_)?.is_none(F::Checkpointer)? {
        next_checkpoint_unsaved(loop_, source)
    } else {
        put_step_checkpoint(loop_, source)
    }
}

/// [`put_checkpoint_of`], for the loop's Python (the input checkpoint).
#[pyfunction]
pub fn put_checkpoint(loop_: &Bound<'_, PyAny>, source: &Bound<'_, PyString>) -> PyResult<()> {
    guarded("put_checkpoint", || put_checkpoint_of(loop_, source))
}
