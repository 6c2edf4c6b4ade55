//! A `PregelNode`'s attributes, read from its instance dict.
//!
//! Building a task reads about ten attributes of its node (`timeout`,
//! `mapper`, `retry_policy`, the cached `flat_writers`...), and `getattr`
//! walks the node's type before it looks in the instance. For a node of
//! exactly LangGraph's `PregelNode` class, whose attribute lookup is the
//! generic one and which defines none of these names as a data descriptor
//! (checked once, when first needed), the generic lookup finds an attribute in
//! the instance dict first: so the dict is read directly, and a name it lacks
//! (a `cached_property` not computed yet) goes through `getattr` as before.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

/// The attributes a task reads off its node.
const NAMES: [&str; 10] = [
    "timeout",
    "node",
    "input_cache_key",
    "mapper",
    "cache_policy",
    "retry_policy",
    "flat_writers",
    "subgraphs",
    "metadata",
    "tags",
];

/// `PregelNode`, when its instances' attributes can be read from their dict.
static PLAIN_CLASS: PyOnceLock<Option<Py<PyAny>>> = PyOnceLock::new();

fn plain_class(py: Python<'_>) -> PyResult<Option<&Bound<'_, PyAny>>> {
    let cls = PLAIN_CLASS.get_or_try_init(py, || -> PyResult<_> {
        let cls = py.import("langgraph.pregel._read")?.getattr(pyo3::intern!(py, "PregelNode"))?;
        let object = py.get_type::<pyo3::types::PyAny>();
        let generic = cls
            .getattr(pyo3::intern!(py, "__getattribute__"))?
            .is(&object.getattr(pyo3::intern!(py, "__getattribute__"))?);
        if !generic {
            return Ok(None);
        }
        for name in NAMES {
            if let Some(found) = crate::runtime::type_lookup(&cls, &PyString::new(py, name))? {
                let kind = found.get_type();
                if kind.hasattr(pyo3::intern!(py, "__set__"))? || kind.hasattr(pyo3::intern!(py, "__delete__"))? {
                    return Ok(None);
                }
            }
        }
        Ok(Some(cls.unbind()))
    })?;
    Ok(cls.as_ref().map(|c| c.bind(py)))
}

/// One node's attributes (module docs).
pub(crate) struct NodeAttrs<'py> {
    node: Bound<'py, PyAny>,
    dict: Option<Bound<'py, PyDict>>,
}

impl<'py> NodeAttrs<'py> {
    pub(crate) fn of(node: &Bound<'py, PyAny>) -> PyResult<NodeAttrs<'py>> {
        let py = node.py();
        let dict = match plain_class(py)? {
            Some(cls) if node.get_type().is(cls) => {
                // SAFETY: `node` is a valid object and the GIL is held; the
                // result is a new reference (the instance dict, made from the
                // inline values if need be) or NULL with an exception set.
                let d = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyObject_GenericGetDict(node.as_ptr(), std::ptr::null_mut()))? };
                d.cast_into::<PyDict>().ok()
            }
            _ => None,
        };
        Ok(NodeAttrs { node: node.clone(), dict })
    }

    /// `node.<name>`; `name` is one of [`NAMES`].
    pub(crate) fn get(&self, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        debug_assert!(NAMES.contains(&name.to_str().unwrap_or("")));
        if let Some(dict) = &self.dict {
            if let Some(v) = dict.get_item(name)? {
                return Ok(v);
            }
        }
        self.node.getattr(name)
    }
}
