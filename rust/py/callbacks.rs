//! The callback manager each task gets from the run's:
//! `run_manager.get_child(tag)` of langchain-core's `ParentRunManager` (or
//! `AsyncParentRunManager`, whose child is an `AsyncCallbackManager`), made
//! natively when the run has no inheritable handler — a run nobody traces, the
//! common case, where the child is plain data: no handlers, the parent run id,
//! the inheritable tags plus `tag`, the inheritable metadata. With handlers
//! (tracing, `astream_events`, a user's handler) langchain-core's own
//! `get_child` is called, so every callback event is still emitted.
//!
//! Likewise the run's own run manager (`chain_run_manager`): what
//! `on_chain_start` returns when it has no handler to call.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::boundary::guarded;

struct Imports {
    callback_manager: Py<PyAny>,
    async_callback_manager: Py<PyAny>,
    /// (CallbackManagerForChainRun, AsyncCallbackManagerForChainRun) when
    /// BaseRunManager's __init__ is theirs (else None: never made natively)
    chain_runs: Option<(Py<PyAny>, Py<PyAny>)>,
    /// the on_chain_start of CallbackManager and AsyncCallbackManager
    chain_starts: (Py<PyAny>, Py<PyAny>),
    parent_get_child: Py<PyAny>,
    async_parent_get_child: Py<PyAny>,
    mapping: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let manager = py.import("langchain_core.callbacks.manager")?;
        let init = pyo3::intern!(py, "__init__");
        let start = pyo3::intern!(py, "on_chain_start");
        let base_init = manager.getattr(pyo3::intern!(py, "BaseRunManager"))?.getattr(init)?;
        let sync_run = manager.getattr(pyo3::intern!(py, "CallbackManagerForChainRun"))?;
        let async_run = manager.getattr(pyo3::intern!(py, "AsyncCallbackManagerForChainRun"))?;
        let chain_runs = (sync_run.getattr(init)?.is(&base_init) && async_run.getattr(init)?.is(&base_init))
            .then(|| (sync_run.unbind(), async_run.unbind()));
        let sync_cls = manager.getattr(pyo3::intern!(py, "CallbackManager"))?;
        let async_cls = manager.getattr(pyo3::intern!(py, "AsyncCallbackManager"))?;
        Ok(Imports {
            chain_starts: (sync_cls.getattr(start)?.unbind(), async_cls.getattr(start)?.unbind()),
            callback_manager: sync_cls.unbind(),
            async_callback_manager: async_cls.unbind(),
            chain_runs,
            parent_get_child: manager.getattr(pyo3::intern!(py, "ParentRunManager"))?.getattr(pyo3::intern!(py, "get_child"))?.unbind(),
            async_parent_get_child: manager.getattr(pyo3::intern!(py, "AsyncParentRunManager"))?.getattr(pyo3::intern!(py, "get_child"))?.unbind(),
            mapping: py.import("collections.abc")?.getattr(pyo3::intern!(py, "Mapping"))?.unbind(),
        })
    })
}

/// `_merge_metadata_dicts({}, metadata)`: a copy, `lc_versions` copied one level.
fn metadata_copy<'py>(im: &Imports, metadata: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let py = metadata.py();
    let out = PyDict::new(py);
    out.update(metadata.cast::<pyo3::types::PyMapping>()?)?;
    if let Some(versions) = out.get_item(pyo3::intern!(py, "lc_versions"))? {
        if versions.is_instance(im.mapping.bind(py))? {
            let copy = PyDict::new(py);
            copy.update(versions.cast::<pyo3::types::PyMapping>()?)?;
            out.set_item(pyo3::intern!(py, "lc_versions"), copy)?;
        }
    }
    Ok(out)
}

/// `run_manager.get_child(tag)`.
#[pyfunction]
pub fn callback_child<'py>(run_manager: &Bound<'py, PyAny>, tag: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    guarded("callback_child", || {
        let py = run_manager.py();
        let im = imports(py)?;
        let own = run_manager.get_type().getattr(pyo3::intern!(py, "get_child"))?;
        let inheritable_handlers = run_manager.getattr(pyo3::intern!(py, "inheritable_handlers"))?;
        let metadata = run_manager.getattr(pyo3::intern!(py, "inheritable_metadata"))?;
        // a sync run's manager makes a CallbackManager, an async run's an
        // AsyncCallbackManager; the two get_child are otherwise the same
        let cls = if own.is(im.parent_get_child.bind(py)) {
            im.callback_manager.bind(py)
        } else if own.is(im.async_parent_get_child.bind(py)) {
            im.async_callback_manager.bind(py)
        } else {
            return run_manager.call_method1(pyo3::intern!(py, "get_child"), (tag,));
        };
        if inheritable_handlers.is_truthy()? || !metadata.is_instance_of::<PyDict>() {
            return run_manager.call_method1(pyo3::intern!(py, "get_child"), (tag,));
        }
        let child = crate::runtime::object_new(&cls)?;
        let inherited = run_manager.getattr(pyo3::intern!(py, "inheritable_tags"))?;
        let tags = crate::py_seq::to_list(&inherited)?;
        let inheritable_tags = crate::py_seq::to_list(&tags)?;
        // add_tags([tag], inherit=False)
        if tags.contains(tag)? {
            tags.call_method1(pyo3::intern!(py, "remove"), (tag,))?;
            if inheritable_tags.contains(tag)? {
                inheritable_tags.call_method1(pyo3::intern!(py, "remove"), (tag,))?;
            }
        }
        tags.append(tag)?;
        // attributes in the order BaseCallbackManager.__init__ sets them
        child.setattr(pyo3::intern!(py, "handlers"), PyList::empty(py))?;
        child.setattr(pyo3::intern!(py, "inheritable_handlers"), PyList::empty(py))?;
        child.setattr(pyo3::intern!(py, "parent_run_id"), run_manager.getattr(pyo3::intern!(py, "run_id"))?)?;
        child.setattr(pyo3::intern!(py, "tags"), tags)?;
        child.setattr(pyo3::intern!(py, "inheritable_tags"), inheritable_tags)?;
        child.setattr(pyo3::intern!(py, "metadata"), metadata_copy(im, &metadata)?)?;
        child.setattr(pyo3::intern!(py, "inheritable_metadata"), metadata_copy(im, &metadata)?)?;
        Ok(child)
    })
}

/// `x or []` / `x or {}` of `BaseRunManager.__init__`: `x` itself when truthy.
fn or_new<'py>(x: Bound<'py, PyAny>, new: impl FnOnce() -> Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    Ok(if x.is_truthy()? { x } else { new() })
}

/// `manager.on_chain_start(None, input, run_id=run_id, name=...)` of a run's
/// `CallbackManager` (or `AsyncCallbackManager`) with no handler: it calls
/// nobody and returns a `CallbackManagerForChainRun` (or the async one)
/// sharing the manager's lists, with `run_id` or a new uuid7 — made natively
/// here. Returns None otherwise (a handler, a subclass): the caller makes
/// langchain-core's call, so every callback event is still emitted.
#[pyfunction]
pub fn chain_run_manager<'py>(manager: &Bound<'py, PyAny>, run_id: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    guarded("chain_run_manager", || {
        let py = manager.py();
        let im = imports(py)?;
        let Some((sync_run, async_run)) = &im.chain_runs else { return Ok(None) };
        let cls = manager.get_type();
        let run_cls = if cls.is(im.callback_manager.bind(py)) {
            sync_run.bind(py)
        } else if cls.is(im.async_callback_manager.bind(py)) {
            async_run.bind(py)
        } else {
            return Ok(None);
        };
        // the class's own on_chain_start, no instance attribute set over it
        let own = cls.getattr(pyo3::intern!(py, "on_chain_start"))?;
        if !(own.is(im.chain_starts.0.bind(py)) || own.is(im.chain_starts.1.bind(py))) {
            return Ok(None);
        }
        if let Ok(d) = manager.getattr(pyo3::intern!(py, "__dict__")) {
            if d.contains(pyo3::intern!(py, "on_chain_start"))? {
                return Ok(None);
            }
        }
        let handlers = manager.getattr(pyo3::intern!(py, "handlers"))?;
        if handlers.is_truthy()? {
            return Ok(None);
        }
        let nc = crate::node_config::imports(py)?;
        let nn = crate::node_config::names(py)?;
        let run_id = if run_id.is_none() { crate::node_config::uuid7(py, nc, nn)? } else { run_id.clone() };
        let rm = crate::runtime::object_new(run_cls)?;
        // BaseRunManager.__init__, in its order
        rm.setattr(pyo3::intern!(py, "run_id"), run_id)?;
        rm.setattr(pyo3::intern!(py, "handlers"), handlers)?;
        rm.setattr(pyo3::intern!(py, "inheritable_handlers"), manager.getattr(pyo3::intern!(py, "inheritable_handlers"))?)?;
        rm.setattr(pyo3::intern!(py, "parent_run_id"), manager.getattr(pyo3::intern!(py, "parent_run_id"))?)?;
        let list = || PyList::empty(py).into_any();
        let dict = || PyDict::new(py).into_any();
        rm.setattr(pyo3::intern!(py, "tags"), or_new(manager.getattr(pyo3::intern!(py, "tags"))?, list)?)?;
        rm.setattr(pyo3::intern!(py, "inheritable_tags"), or_new(manager.getattr(pyo3::intern!(py, "inheritable_tags"))?, list)?)?;
        rm.setattr(pyo3::intern!(py, "metadata"), or_new(manager.getattr(pyo3::intern!(py, "metadata"))?, dict)?)?;
        rm.setattr(
            pyo3::intern!(py, "inheritable_metadata"),
            or_new(manager.getattr(pyo3::intern!(py, "inheritable_metadata"))?, dict)?,
        )?;
        Ok(Some(rm))
    })
}
