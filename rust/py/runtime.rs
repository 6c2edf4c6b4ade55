//! LangGraph's `Runtime` and `ExecutionInfo` (frozen, slotted dataclasses in
//! `langgraph.runtime`), made and changed natively: every task gets a runtime
//! of its own, and `dataclasses.replace` (field introspection, the generated
//! `__init__`) was a large part of what a task cost.
//!
//! An object is built as its generated `__init__` builds it: `object.__new__`,
//! then each field set with the generic setter (what `object.__setattr__`
//! does for a frozen class). That holds only for a class whose fields are all
//! `init` fields and which has no `__post_init__`; both are checked when the
//! classes load, and otherwise `dataclasses.replace` / the class itself is
//! called.

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

use crate::boundary::guarded;

/// One frozen dataclass: its field names and defaults, in declaration order.
pub struct Frozen {
    cls: Py<PyAny>,
    fields: Vec<(Py<PyString>, Option<Py<PyAny>>)>,
    native: bool,
    /// Each field's slot offset, when every field is a plain object slot
    /// (a slotted dataclass): fields are then written and read in place.
    slots: Option<Vec<isize>>,
}

impl Frozen {
    pub fn load(py: Python<'_>, cls: Bound<'_, PyAny>) -> PyResult<Frozen> {
        let dataclasses = py.import("dataclasses")?;
        let missing = dataclasses.getattr(pyo3::intern!(py, "MISSING"))?;
        let mut fields = Vec::new();
        let mut native = !cls.hasattr(pyo3::intern!(py, "__post_init__"))?;
        for f in dataclasses.call_method1(pyo3::intern!(py, "fields"), (&cls,))?.try_iter()? {
            let f = f?;
            native &= f.getattr(pyo3::intern!(py, "init"))?.is_truthy()?;
            // a default_factory would have to be called per object
            native &= f.getattr(pyo3::intern!(py, "default_factory"))?.is(&missing);
            let default = f.getattr(pyo3::intern!(py, "default"))?;
            let default = if default.is(&missing) { None } else { Some(default.unbind()) };
            let name = PyString::intern(py, &f.getattr(pyo3::intern!(py, "name"))?.extract::<String>()?).unbind();
            fields.push((name, default));
        }
        let slots = fields
            .iter()
            .map(|(name, _)| slot_offset(&cls, name.bind(py)))
            .collect::<PyResult<Option<Vec<isize>>>>()?;
        Ok(Frozen { cls: cls.unbind(), fields, native, slots })
    }

    /// The field names, in declaration order.
    pub fn field_names(&self, py: Python<'_>) -> Vec<String> {
        self.fields.iter().map(|(name, _)| name.bind(py).to_string()).collect()
    }

    pub fn class<'py>(&self, py: Python<'py>) -> &Bound<'py, PyAny> {
        self.cls.bind(py)
    }

    pub fn is_instance(&self, obj: &Bound<'_, PyAny>) -> PyResult<bool> {
        obj.is_instance(self.cls.bind(obj.py()))
    }

    fn set_fields<'py>(
        &self,
        py: Python<'py>,
        value_of: impl Fn(usize, &Bound<'py, PyString>, Option<&Py<PyAny>>) -> PyResult<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let new = object_new(self.cls.bind(py))?;
        if let Some(slots) = &self.slots {
            for (i, ((name, default), &offset)) in self.fields.iter().zip(slots).enumerate() {
                let value = value_of(i, name.bind(py), default.as_ref())?;
                // SAFETY: `new` is an instance of exactly `cls`, whose slot
                // for this field (an object slot, see `slot_offset`) is at
                // `offset`.
                unsafe { set_slot(&new, offset, &value) };
            }
            return Ok(new);
        }
        for (i, (name, default)) in self.fields.iter().enumerate() {
            let name = name.bind(py);
            let value = value_of(i, name, default.as_ref())?;
            generic_setattr(&new, name, &value)?;
        }
        Ok(new)
    }

    /// `obj.name`: read at the field's slot when `obj` is exactly of this
    /// class, else (and for a name that is no field) by `getattr`. `name`
    /// must be interned (fields are found by identity).
    pub fn field<'py>(&self, obj: &Bound<'py, PyAny>, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
        let py = obj.py();
        if let Some(slots) = &self.slots {
            if std::ptr::eq(obj.get_type_ptr().cast::<ffi::PyObject>(), self.cls.as_ptr()) {
                if let Some(i) = self.fields.iter().position(|(f, _)| f.bind(py).is(name)) {
                    // SAFETY: `obj` is an instance of exactly `cls`, whose
                    // slot for field `i` is at `slots[i]`.
                    if let Some(v) = unsafe { get_slot(obj, slots[i]) } {
                        return Ok(v);
                    }
                }
            }
        }
        obj.getattr(name)
    }

    /// `dataclasses.replace(obj, **changes)`.
    pub fn replace<'py>(
        &self,
        obj: &Bound<'py, PyAny>,
        changes: &[(&Bound<'py, PyString>, Bound<'py, PyAny>)],
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = obj.py();
        if !self.native || !obj.get_type().is(self.cls.bind(py)) {
            let kwargs = PyDict::new(py);
            for (k, v) in changes {
                kwargs.set_item(k, v)?;
            }
            return classes(py)?.replace.bind(py).call((obj,), Some(&kwargs));
        }
        self.set_fields(py, |i, name, _| match find(changes, name) {
            Some(v) => Ok(v.clone()),
            None => match &self.slots {
                Some(slots) => {
                    // SAFETY: `obj` is an instance of exactly `cls` (checked
                    // above), whose slot for this field is at `slots[i]`.
                    match unsafe { get_slot(obj, slots[i]) } {
                        Some(v) => Ok(v),
                        None => obj.getattr(name), // unset: the AttributeError
                    }
                }
                None => obj.getattr(name),
            },
        })
    }

    /// `cls(**values)`, unspecified fields taking their defaults.
    pub fn build<'py>(
        &self,
        py: Python<'py>,
        values: &[(&Bound<'py, PyString>, Bound<'py, PyAny>)],
    ) -> PyResult<Bound<'py, PyAny>> {
        if !self.native {
            let kwargs = PyDict::new(py);
            for (k, v) in values {
                kwargs.set_item(k, v)?;
            }
            return self.cls.bind(py).call((), Some(&kwargs));
        }
        self.set_fields(py, |_, name, default| match (find(values, name), default) {
            (Some(v), _) => Ok(v.clone()),
            (None, Some(d)) => Ok(d.bind(py).clone()),
            (None, None) => Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "missing required argument: '{name}'"
            ))),
        })
    }
}

/// `object.__new__(cls)`: what the Python call does (its checks included),
/// without the call — `object`'s `tp_new` with no arguments.
pub(crate) fn object_new<'py>(cls: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let py = cls.py();
    let cls = cls.cast::<pyo3::types::PyType>()?;
    let args = pyo3::types::PyTuple::empty(py);
    // SAFETY: `PyBaseObject_Type` is the static `object` type, whose `tp_new`
    // is always set; `cls` and `args` are live for the call, and the result
    // is a new reference or NULL with an exception set.
    unsafe {
        let base = &raw const ffi::PyBaseObject_Type;
        let Some(new) = (*base).tp_new else {
            return Err(pyo3::exceptions::PySystemError::new_err("object has no tp_new"));
        };
        let obj = new(cls.as_type_ptr(), args.as_ptr(), std::ptr::null_mut());
        Bound::from_owned_ptr_or_err(py, obj)
    }
}

/// Where instances of `cls` keep attribute `name`, when the generic
/// setter and getter reach it through a plain object slot of the class
/// (`__slots__`): the slot's offset. None for anything else (a property, a
/// read-only member, an instance dict entry).
pub(crate) fn slot_offset(cls: &Bound<'_, PyAny>, name: &Bound<'_, PyString>) -> PyResult<Option<isize>> {
    // the descriptor the generic setter finds
    if let Some(desc) = type_lookup(cls, name)? {
        // SAFETY: `PyMemberDescr_Type` is a static type object; an object of
        // exactly that type is a `PyMemberDescrObject`, whose member
        // definition lives as long as its class.
        unsafe {
            if !std::ptr::eq(ffi::Py_TYPE(desc.as_ptr()), &raw mut ffi::PyMemberDescr_Type) {
                return Ok(None);
            }
            // (pyo3-ffi declares `d_member` with the getset definition's type)
            let member = (*(desc.as_ptr() as *const ffi::PyMemberDescrObject)).d_member as *const ffi::PyMemberDef;
            let m = &*member;
            let plain = m.type_code == ffi::Py_T_OBJECT_EX && m.flags & ffi::Py_READONLY == 0;
            return Ok(plain.then_some(m.offset));
        }
    }
    Ok(None)
}

/// What a class's attribute lookup finds for `name` (CPython's
/// `_PyType_Lookup`): the value in the first `__dict__` along its MRO that
/// holds the name.
pub(crate) fn type_lookup<'py>(cls: &Bound<'py, PyAny>, name: &Bound<'py, PyString>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = cls.py();
    for klass in cls.getattr(pyo3::intern!(py, "__mro__"))?.try_iter()? {
        match klass?.getattr(pyo3::intern!(py, "__dict__"))?.get_item(name) {
            Ok(found) => return Ok(Some(found)),
            Err(e) if e.is_instance_of::<pyo3::exceptions::PyKeyError>(py) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}

/// Sets an object slot in place, as the member descriptor's setter does.
///
/// # Safety
/// `obj` must be an instance of a class with an object slot at `offset`
/// (found by [`slot_offset`] on exactly its class).
pub(crate) unsafe fn set_slot(obj: &Bound<'_, PyAny>, offset: isize, value: &Bound<'_, PyAny>) {
    let addr = obj.as_ptr().cast::<u8>().offset(offset).cast::<*mut ffi::PyObject>();
    let old = *addr;
    *addr = value.clone().into_ptr();
    ffi::Py_XDECREF(old);
}

/// Reads an object slot in place; None when it is unset.
///
/// # Safety
/// As for [`set_slot`].
pub(crate) unsafe fn get_slot<'py>(obj: &Bound<'py, PyAny>, offset: isize) -> Option<Bound<'py, PyAny>> {
    let value = *obj.as_ptr().cast::<u8>().offset(offset).cast::<*mut ffi::PyObject>();
    Bound::from_borrowed_ptr_or_opt(obj.py(), value)
}

/// `object.__setattr__(obj, name, value)`: the generic setter, which works on
/// frozen and slotted classes (what a frozen dataclass's `__init__` uses).
pub(crate) fn generic_setattr(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: the three objects are live for the call.
    let rc = unsafe { ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if rc != 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    Ok(())
}

fn find<'a, 'py>(
    pairs: &'a [(&Bound<'py, PyString>, Bound<'py, PyAny>)],
    name: &Bound<'py, PyString>,
) -> Option<&'a Bound<'py, PyAny>> {
    // every name is interned (the fields', the engine's, and keyword names
    // through `pairs`): identity answers
    pairs.iter().find(|(k, _)| k.is(name)).map(|(_, v)| v)
}

pub struct Classes {
    pub runtime: Frozen,
    pub execution_info: Frozen,
    /// LangGraph's `PregelExecutableTask` (a step's task)
    pub task: Frozen,
    replace: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

pub fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES.get_or_try_init(py, || {
        let runtime = py.import("langgraph.runtime")?;
        Ok(Classes {
            runtime: Frozen::load(py, runtime.getattr(pyo3::intern!(py, "Runtime"))?)?,
            execution_info: Frozen::load(py, runtime.getattr(pyo3::intern!(py, "ExecutionInfo"))?)?,
            task: Frozen::load(py, py.import("langgraph.types")?.getattr(pyo3::intern!(py, "PregelExecutableTask"))?)?,
            replace: py.import("dataclasses")?.getattr(pyo3::intern!(py, "replace"))?.unbind(),
        })
    })
}

/// `task.name` of a step's task (a `PregelExecutableTask`), read at its slot
/// ([`Frozen::field`]); `name` interned.
pub(crate) fn task_attr<'py>(task: &Bound<'py, PyAny>, name: &Bound<'py, PyString>) -> PyResult<Bound<'py, PyAny>> {
    classes(task.py())?.task.field(task, name)
}

fn pairs<'py>(kwargs: Option<&Bound<'py, PyDict>>) -> PyResult<Vec<(Bound<'py, PyString>, Bound<'py, PyAny>)>> {
    let mut out = Vec::new();
    if let Some(kwargs) = kwargs {
        for (k, v) in kwargs.iter() {
            // interned, so that fields are found by identity
            let k = k.cast_into::<PyString>()?;
            out.push((PyString::intern(k.py(), &k.to_cow()?), v));
        }
    }
    Ok(out)
}

/// `runtime.override(**changes)`.
#[pyfunction]
#[pyo3(signature = (runtime, **changes))]
pub fn override_runtime<'py>(
    runtime: &Bound<'py, PyAny>,
    changes: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    guarded("override_runtime", || {
        let changes = pairs(changes)?;
        let changes: Vec<_> = changes.iter().map(|(k, v)| (k, v.clone())).collect();
        classes(runtime.py())?.runtime.replace(runtime, &changes)
    })
}

/// `ExecutionInfo(**fields)`.
#[pyfunction]
#[pyo3(signature = (**fields))]
pub fn execution_info<'py>(py: Python<'py>, fields: Option<&Bound<'py, PyDict>>) -> PyResult<Bound<'py, PyAny>> {
    guarded("execution_info", || {
        let fields = pairs(fields)?;
        let fields: Vec<_> = fields.iter().map(|(k, v)| (k, v.clone())).collect();
        classes(py)?.execution_info.build(py, &fields)
    })
}

/// `bool(value)`; a `ChainMap` of dicts (the metadata of LangGraph's run
/// configs) is answered without entering its Python `__bool__`
/// (`any(self.maps)`).
pub(crate) fn truthy(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    static CHAIN_MAP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let py = value.py();
    let chain_map = CHAIN_MAP.get_or_try_init(py, || {
        Ok::<_, PyErr>(py.import("collections")?.getattr(pyo3::intern!(py, "ChainMap"))?.unbind())
    })?;
    if value.get_type().is(chain_map.bind(py)) {
        if let Ok(maps) = value.getattr(pyo3::intern!(py, "maps"))?.cast_into::<pyo3::types::PyList>() {
            for m in maps.iter() {
                match m.cast_exact::<PyDict>() {
                    Ok(d) if d.is_empty() => continue,
                    Ok(_) => return Ok(true),
                    // (a map of another kind: Python's own answer)
                    Err(_) => return value.is_truthy(),
                }
            }
            return Ok(false);
        }
    }
    value.is_truthy()
}
