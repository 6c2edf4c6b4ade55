//! What calling a node builds, shared by the sync and async node calls
//! (`node_call.rs`, `node_call_async.rs`): the node run's tags, metadata and
//! run id handed down to its steps, each step's config with its child
//! callback manager, the config context a step runs in, and the arguments a
//! plain `RunnableCallable` injects into its function.

use pyo3::ffi;

use crate::runtime::generic_setattr;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyMapping, PyString};

pub(crate) struct Imports {
    pub(crate) base_manager: Py<PyAny>,
    pub(crate) callback_manager: Py<PyAny>,
    async_callback_manager: Py<PyAny>,
    pub(crate) channel_write: Py<PyAny>,
    pub(crate) runnable: Py<PyAny>,
    pub(crate) runnable_callable: Py<PyAny>,
    pub(crate) var_child_config: Py<PyAny>,
    pub(crate) merge_metadata: Py<PyAny>,
    pub(crate) uuid_cls: Py<PyAny>,
    pub(crate) safe_unknown: Py<PyAny>,
    pub(crate) uuid7_int: Py<PyAny>,
    pub(crate) missing: Py<PyAny>,
    pub(crate) param_empty: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

pub(crate) fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let uuid = py.import("uuid")?;
        Ok(Imports {
            base_manager: py
                .import("langchain_core.callbacks.base")?
                .getattr(pyo3::intern!(py, "BaseCallbackManager"))?
                .unbind(),
            callback_manager: py
                .import("langchain_core.callbacks.manager")?
                .getattr(pyo3::intern!(py, "CallbackManager"))?
                .unbind(),
            async_callback_manager: py
                .import("langchain_core.callbacks.manager")?
                .getattr(pyo3::intern!(py, "AsyncCallbackManager"))?
                .unbind(),
            channel_write: py
                .import("langgraph.pregel._write")?
                .getattr(pyo3::intern!(py, "ChannelWrite"))?
                .unbind(),
            runnable: py
                .import("langchain_core.runnables")?
                .getattr(pyo3::intern!(py, "Runnable"))?
                .unbind(),
            runnable_callable: py
                .import("langgraph._internal._runnable")?
                .getattr(pyo3::intern!(py, "RunnableCallable"))?
                .unbind(),
            var_child_config: py
                .import("langchain_core.runnables.config")?
                .getattr(pyo3::intern!(py, "var_child_runnable_config"))?
                .unbind(),
            merge_metadata: py
                .import("langchain_core.runnables.config")?
                .getattr(pyo3::intern!(py, "_merge_metadata_dicts"))?
                .unbind(),
            uuid_cls: uuid.getattr(pyo3::intern!(py, "UUID"))?.unbind(),
            safe_unknown: uuid
                .getattr(pyo3::intern!(py, "SafeUUID"))?
                .getattr(pyo3::intern!(py, "unknown"))?
                .unbind(),
            uuid7_int: py
                .import("uuid_utils")?
                .getattr(pyo3::intern!(py, "_uuid7_int"))?
                .unbind(),
            missing: py
                .import("langgraph._internal._typing")?
                .getattr(pyo3::intern!(py, "MISSING"))?
                .unbind(),
            param_empty: py
                .import("inspect")?
                .getattr(pyo3::intern!(py, "Parameter"))?
                .getattr(pyo3::intern!(py, "empty"))?
                .unbind(),
        })
    })
}

pub(crate) struct Names {
    pub(crate) callbacks: Py<PyString>,
    pub(crate) tags: Py<PyString>,
    pub(crate) metadata: Py<PyString>,
    pub(crate) run_id: Py<PyString>,
    pub(crate) run_name: Py<PyString>,
    pub(crate) configurable: Py<PyString>,
    pub(crate) runtime_key: Py<PyString>,
    pub(crate) config: Py<PyString>,
    pub(crate) runtime: Py<PyString>,
    pub(crate) error: Py<PyString>,
    pub(crate) int: Py<PyString>,
    pub(crate) is_safe: Py<PyString>,
}

static NAMES: PyOnceLock<Names> = PyOnceLock::new();

pub(crate) fn names(py: Python<'_>) -> PyResult<&'static Names> {
    NAMES.get_or_try_init(py, || {
        let s = |v: &str| PyString::intern(py, v).unbind();
        Ok(Names {
            callbacks: s("callbacks"),
            tags: s("tags"),
            metadata: s("metadata"),
            run_id: s("run_id"),
            run_name: s("run_name"),
            configurable: s("configurable"),
            runtime_key: s("__pregel_runtime"),
            config: s("config"),
            runtime: s("runtime"),
            error: s("error"),
            int: s("int"),
            is_safe: s("is_safe"),
        })
    })
}

/// `langchain_core.utils.uuid.uuid7()`: uuid_utils' generator, made into a
/// stdlib `UUID` as `uuid_utils.compat` makes it (no `__init__`).
pub(crate) fn uuid7<'py>(py: Python<'py>, im: &Imports, n: &Names) -> PyResult<Bound<'py, PyAny>> {
    let value = im.uuid7_int.bind(py).call1((py.None(), py.None()))?;
    let u = crate::runtime::object_new(im.uuid_cls.bind(py))?;
    match uuid_slots(py, im, n)? {
        Some((int, is_safe)) => {
            // SAFETY: `u` is exactly a `uuid.UUID`, whose `int` and `is_safe`
            // slots (object slots, see `slot_offset`) are at these offsets.
            unsafe {
                crate::runtime::set_slot(&u, int, &value);
                crate::runtime::set_slot(&u, is_safe, im.safe_unknown.bind(py));
            }
        }
        None => {
            generic_setattr(&u, n.int.bind(py), &value)?;
            generic_setattr(&u, n.is_safe.bind(py), im.safe_unknown.bind(py))?;
        }
    }
    Ok(u)
}

/// Where `uuid.UUID` keeps `int` and `is_safe` (its `__slots__`), when both
/// are plain object slots.
fn uuid_slots(py: Python<'_>, im: &Imports, n: &Names) -> PyResult<Option<(isize, isize)>> {
    static SLOTS: PyOnceLock<Option<(isize, isize)>> = PyOnceLock::new();
    SLOTS
        .get_or_try_init(py, || {
            let cls = im.uuid_cls.bind(py);
            let int = crate::runtime::slot_offset(cls, n.int.bind(py))?;
            let is_safe = crate::runtime::slot_offset(cls, n.is_safe.bind(py))?;
            Ok(int.zip(is_safe))
        })
        .copied()
}

/// langchain-core's `_merge_metadata_dicts(base, incoming)`: natively for two
/// dicts neither of which carries `lc_versions` (the only key merged a level
/// deeper), else langchain-core's own.
pub(crate) fn merge_metadata_dicts<'py>(
    im: &Imports,
    base: &Bound<'py, PyAny>,
    incoming: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = base.py();
    // (`incoming` may be a mapping such as the `ChainMap` of LangGraph's
    // `ensure_config`: `{**base, **incoming}` reads it through its keys)
    if let (Ok(b), Ok(i)) = (base.cast::<PyDict>(), incoming.cast::<PyMapping>()) {
        if !b.contains(pyo3::intern!(py, "lc_versions"))?
            && !i.contains(pyo3::intern!(py, "lc_versions"))?
        {
            let merged = b.copy()?;
            merged.update(i)?;
            return Ok(merged.into_any());
        }
    }
    im.merge_metadata.bind(py).call1((base, incoming))
}

/// What the node's run hands down to its steps: inheritable tags, metadata
/// and the run id (`_seq_parent` of the loop, see the module docs).
pub(crate) struct Parent<'py> {
    pub(crate) tags: Bound<'py, PyList>,
    pub(crate) metadata: Bound<'py, PyAny>,
    pub(crate) run_id: Bound<'py, PyAny>,
}

pub(crate) fn parent<'py>(
    im: &Imports,
    n: &Names,
    config: &Bound<'py, PyDict>,
    manager: &Bound<'py, PyAny>,
) -> PyResult<Parent<'py>> {
    let py = config.py();
    let inheritable = crate::py_seq::to_list(&manager.getattr(pyo3::intern!(py, "inheritable_tags"))?)?;
    if let Some(tags) = config.get_item(n.tags.bind(py))? {
        if tags.is_truthy()? {
            // add_tags(tags): a tag already there moves to the end
            let tags: Vec<Bound<'py, PyAny>> = tags.try_iter()?.collect::<PyResult<_>>()?;
            let own = crate::py_seq::to_list(&manager.getattr(pyo3::intern!(py, "tags"))?)?;
            for t in &tags {
                if own.contains(t)? {
                    own.call_method1(pyo3::intern!(py, "remove"), (t,))?;
                    if inheritable.contains(t)? {
                        inheritable.call_method1(pyo3::intern!(py, "remove"), (t,))?;
                    }
                }
            }
            for t in tags {
                inheritable.append(t)?;
            }
        }
    }
    let mut metadata = manager.getattr(pyo3::intern!(py, "inheritable_metadata"))?;
    if let Some(extra) = config.get_item(n.metadata.bind(py))? {
        if extra.is_truthy()? {
            metadata = merge_metadata_dicts(im, &metadata, &extra)?;
        }
    }
    let run_id = match config.get_item(n.run_id.bind(py))? {
        Some(r) => {
            config.del_item(n.run_id.bind(py))?;
            if r.is_truthy()? {
                r
            } else {
                uuid7(py, im, n)?
            }
        }
        None => uuid7(py, im, n)?,
    };
    Ok(Parent {
        tags: inheritable,
        metadata,
        run_id,
    })
}

/// `patch_config(config, callbacks=run_manager.get_child(f"seq:step:{i}"))`.
pub(crate) fn step_config<'py>(
    im: &Imports,
    n: &Names,
    config: &Bound<'py, PyDict>,
    manager_cls: &Bound<'py, PyAny>,
    p: &Parent<'py>,
    i: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let py = config.py();
    let tags = PyList::new(py, p.tags.iter())?;
    let inheritable = PyList::new(py, p.tags.iter())?;
    let metadata = PyDict::new(py);
    metadata.update(p.metadata.cast::<pyo3::types::PyMapping>()?)?;
    let inheritable_metadata = metadata.copy()?;
    // neither class has an __init__ of its own: BaseCallbackManager's sets
    // the attributes below, in this order
    let child = if manager_cls.is(im.callback_manager.bind(py))
        || manager_cls.is(im.async_callback_manager.bind(py))
    {
        // attributes in the order BaseCallbackManager.__init__ sets them
        let child = crate::runtime::object_new(&manager_cls)?;
        child.setattr(pyo3::intern!(py, "handlers"), PyList::empty(py))?;
        child.setattr(pyo3::intern!(py, "inheritable_handlers"), PyList::empty(py))?;
        child.setattr(pyo3::intern!(py, "parent_run_id"), &p.run_id)?;
        child.setattr(pyo3::intern!(py, "tags"), &tags)?;
        child.setattr(pyo3::intern!(py, "inheritable_tags"), &inheritable)?;
        child.setattr(pyo3::intern!(py, "metadata"), metadata)?;
        child.setattr(
            pyo3::intern!(py, "inheritable_metadata"),
            inheritable_metadata,
        )?;
        child
    } else {
        let kw = PyDict::new(py);
        kw.set_item(pyo3::intern!(py, "handlers"), PyList::empty(py))?;
        kw.set_item(pyo3::intern!(py, "inheritable_handlers"), PyList::empty(py))?;
        kw.set_item(pyo3::intern!(py, "parent_run_id"), &p.run_id)?;
        kw.set_item(pyo3::intern!(py, "tags"), &tags)?;
        kw.set_item(pyo3::intern!(py, "inheritable_tags"), &inheritable)?;
        kw.set_item(pyo3::intern!(py, "metadata"), metadata)?;
        kw.set_item(
            pyo3::intern!(py, "inheritable_metadata"),
            inheritable_metadata,
        )?;
        manager_cls.call((), Some(&kw))?
    };
    // (a node's function is its sequence's first step: one string for all)
    let tag = if i == 1 { pyo3::intern!(py, "seq:step:1").clone() } else { PyString::new(py, &format!("seq:step:{i}")) };
    let child_tags = child.getattr(pyo3::intern!(py, "tags"))?;
    if p.tags.contains(&tag)? {
        child.call_method1(
            pyo3::intern!(py, "add_tags"),
            (PyList::new(py, [&tag])?, false),
        )?;
    } else {
        child_tags.call_method1(pyo3::intern!(py, "append"), (tag,))?;
    }
    let out = config.copy()?;
    out.set_item(n.callbacks.bind(py), child)?;
    if out.contains(n.run_name.bind(py))? {
        out.del_item(n.run_name.bind(py))?;
    }
    if out.contains(n.run_id.bind(py))? {
        out.del_item(n.run_id.bind(py))?;
    }
    Ok(out)
}

/// A copy of the current context with `var_child_runnable_config` set to
/// `config`: what LangGraph's `set_config_context(config)` yields.
pub(crate) fn config_context<'py>(config: &Bound<'py, PyDict>) -> PyResult<Bound<'py, PyAny>> {
    let py = config.py();
    let im = imports(py)?;
    // SAFETY: a new context we own; entered and exited around the set.
    unsafe {
        let ctx = ffi::PyContext_CopyCurrent();
        if ctx.is_null() {
            return Err(PyErr::fetch(py));
        }
        let ctx = Bound::from_owned_ptr(py, ctx);
        in_context(&ctx, || {
            let token = ffi::PyContextVar_Set(im.var_child_config.as_ptr(), config.as_ptr());
            if token.is_null() {
                return Err(PyErr::fetch(py));
            }
            drop(Bound::from_owned_ptr(py, token));
            Ok(())
        })?;
        Ok(ctx)
    }
}

/// Runs `body` with `ctx` entered (`ctx.run`).
pub(crate) fn in_context<T>(
    ctx: &Bound<'_, PyAny>,
    body: impl FnOnce() -> PyResult<T>,
) -> PyResult<T> {
    let py = ctx.py();
    // SAFETY: `ctx` is a live context object; it is exited on every path.
    unsafe {
        if ffi::PyContext_Enter(ctx.as_ptr()) != 0 {
            return Err(PyErr::fetch(py));
        }
        let result = body();
        if ffi::PyContext_Exit(ctx.as_ptr()) != 0 {
            let exit_err = PyErr::fetch(py);
            return result.and(Err(exit_err));
        }
        result
    }
}

/// The keyword arguments `RunnableCallable.invoke`/`ainvoke` call a plain
/// callable's function with: its own kwargs, the caller's, and what its
/// `func_accepts` asks for (`config`, or an attribute of the runtime); None
/// when the call must go through `invoke` itself (an `error` parameter, a
/// missing required one: LangGraph reports those).
pub(crate) fn injected_kwargs<'py>(
    step: &Bound<'py, PyAny>,
    config: &Bound<'py, PyDict>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let py = step.py();
    let (im, n) = (imports(py)?, names(py)?);
    let call_kwargs = PyDict::new(py);
    let own = step.getattr(pyo3::intern!(py, "kwargs"))?;
    if own.is_truthy()? {
        call_kwargs.update(own.cast::<pyo3::types::PyMapping>()?)?;
    }
    if let Some(kw) = kwargs {
        call_kwargs.update(kw.as_mapping())?;
    }
    let accepts = step.getattr(pyo3::intern!(py, "func_accepts"))?;
    let accepts = accepts.cast::<PyDict>()?;
    if accepts.is_empty() {
        return Ok(Some(call_kwargs));
    }
    let runtime = match config.get_item(n.configurable.bind(py))? {
        Some(c) => c.cast_into::<PyDict>()?.get_item(n.runtime_key.bind(py))?,
        None => None,
    };
    let runtime = match runtime {
        Some(r) if r.is_truthy()? => Some(r),
        _ => None,
    };
    let missing = im.missing.bind(py);
    for (kw, spec) in accepts.iter() {
        if call_kwargs.contains(&kw)? {
            continue;
        }
        if kw.eq(n.error.bind(py))? {
            return Ok(None);
        }
        let (runtime_key, default): (Bound<'py, PyAny>, Bound<'py, PyAny>) = spec.extract()?;
        let mut value = missing.clone();
        if kw.eq(n.config.bind(py))? {
            value = config.clone().into_any();
        } else if let Some(rt) = &runtime {
            if kw.eq(n.runtime.bind(py))? {
                value = rt.clone();
            } else {
                match rt.getattr(runtime_key.cast::<PyString>()?) {
                    Ok(v) => value = v,
                    Err(e) if e.is_instance_of::<pyo3::exceptions::PyAttributeError>(py) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if value.is(missing) {
            if default.is(im.param_empty.bind(py)) {
                return Ok(None);
            }
            value = default;
        }
        call_kwargs.set_item(kw, value)?;
    }
    Ok(Some(call_kwargs))
}

/// `isinstance(value, Runnable)` (a plain dict, a graph's usual input, is
/// none: the ABC's check is not made for it).
pub(crate) fn is_runnable(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    if value.is_exact_instance_of::<PyDict>() {
        return Ok(false);
    }
    value.is_instance(imports(value.py())?.runnable.bind(value.py()))
}

/// Whether a node's result is a `Runnable` to invoke in turn (`recurse`).
pub(crate) fn recurses(step: &Bound<'_, PyAny>, ret: &Bound<'_, PyAny>) -> PyResult<bool> {
    // (a plain dict, the usual result, asks for no attribute first)
    Ok(!ret.is_exact_instance_of::<PyDict>()
        && step
            .getattr(pyo3::intern!(step.py(), "recurse"))?
            .is_truthy()?
        && is_runnable(ret)?)
}
