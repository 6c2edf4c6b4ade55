//! The callback manager each task gets from the run's:
//! `run_manager.get_child(tag)` of langchain-core's `ParentRunManager` (or
//! `AsyncParentRunManager`, whose child is an `AsyncCallbackManager`), made
//! natively when the run has no inheritable handler — a run nobody traces, the
//! common case, where the child is plain data: no handlers, the parent run id,
//! the inheritable tags plus `tag`, the inheritable metadata. With handlers
//! (tracing, `astream_events`, a user's handler) langchain-core's own
//! `get_child` is called, so every callback event is still emitted.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use crate::boundary::guarded;

struct Imports {
    callback_manager: Py<PyAny>,
    async_callback_manager: Py<PyAny>,
    parent_get_child: Py<PyAny>,
    async_parent_get_child: Py<PyAny>,
    mapping: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let manager = py.import("langchain_core.callbacks.manager")?;
        Ok(Imports {
            callback_manager: manager.getattr(pyo3::intern!(py, "CallbackManager"))?.unbind(),
            async_callback_manager: manager.getattr(pyo3::intern!(py, "AsyncCallbackManager"))?.unbind(),
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
        let tags = PyList::empty(py);
        let inheritable_tags = PyList::empty(py);
        for t in run_manager.getattr(pyo3::intern!(py, "inheritable_tags"))?.try_iter()? {
            let t = t?;
            tags.append(&t)?;
            inheritable_tags.append(t)?;
        }
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
