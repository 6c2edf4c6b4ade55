//! Calling a StateGraph node: its `RunnableSeq` (the user's function, then
//! its writers) run natively when no callback handler records the node's run.
//!
//! `LeanSeq.invoke` does what `RunnableSeq.invoke` does for a run with no
//! handler, without the callback run itself (it would record nothing):
//! - each step gets `patch_config(config, callbacks=run_manager.get_child(
//!   "seq:step:N"))` — a child manager carrying the node run's tags, metadata
//!   and run id, so a callee that brings its own handlers sees what it would
//!   see under LangGraph;
//! - the first step runs in a copy of the current context with
//!   `var_child_runnable_config` set to its config (`get_config()`,
//!   `interrupt()`, `get_stream_writer()`, `get_runtime()`, subgraph calls);
//!   a plain `RunnableCallable` (LangGraph's wrapper of a node function,
//!   `trace=False`) has its function called directly, with `config`,
//!   `runtime`, `store`, `writer`, `context`... injected as its
//!   `func_accepts` says;
//! - the writers run natively when [`crate::channel_write::writer_plan`]
//!   knows them, else through their `invoke`.
//!
//! A config whose callbacks are not a callback manager goes to the
//! `RunnableSeq` itself, as does every async call (`ainvoke` is the Python
//! coroutine the loop supplies).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;
use crate::channel_write::{channel_write, writer_plan};

pub(crate) struct Imports {
    base_manager: Py<PyAny>,
    callback_manager: Py<PyAny>,
    channel_write: Py<PyAny>,
    runnable: Py<PyAny>,
    runnable_callable: Py<PyAny>,
    var_child_config: Py<PyAny>,
    merge_metadata: Py<PyAny>,
    object_new: Py<PyAny>,
    uuid_cls: Py<PyAny>,
    safe_unknown: Py<PyAny>,
    uuid7_int: Py<PyAny>,
    missing: Py<PyAny>,
    param_empty: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

pub(crate) fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let uuid = py.import("uuid")?;
        Ok(Imports {
            base_manager: py.import("langchain_core.callbacks.base")?.getattr(pyo3::intern!(py, "BaseCallbackManager"))?.unbind(),
            callback_manager: py.import("langchain_core.callbacks.manager")?.getattr(pyo3::intern!(py, "CallbackManager"))?.unbind(),
            channel_write: py.import("langgraph.pregel._write")?.getattr(pyo3::intern!(py, "ChannelWrite"))?.unbind(),
            runnable: py.import("langchain_core.runnables")?.getattr(pyo3::intern!(py, "Runnable"))?.unbind(),
            runnable_callable: py.import("langgraph._internal._runnable")?.getattr(pyo3::intern!(py, "RunnableCallable"))?.unbind(),
            var_child_config: py
                .import("langchain_core.runnables.config")?
                .getattr(pyo3::intern!(py, "var_child_runnable_config"))?
                .unbind(),
            merge_metadata: py.import("langchain_core.runnables.config")?.getattr(pyo3::intern!(py, "_merge_metadata_dicts"))?.unbind(),
            object_new: py.import("builtins")?.getattr(pyo3::intern!(py, "object"))?.getattr(pyo3::intern!(py, "__new__"))?.unbind(),
            uuid_cls: uuid.getattr(pyo3::intern!(py, "UUID"))?.unbind(),
            safe_unknown: uuid.getattr(pyo3::intern!(py, "SafeUUID"))?.getattr(pyo3::intern!(py, "unknown"))?.unbind(),
            uuid7_int: py.import("uuid_utils")?.getattr(pyo3::intern!(py, "_uuid7_int"))?.unbind(),
            missing: py.import("langgraph._internal._typing")?.getattr(pyo3::intern!(py, "MISSING"))?.unbind(),
            param_empty: py.import("inspect")?.getattr(pyo3::intern!(py, "Parameter"))?.getattr(pyo3::intern!(py, "empty"))?.unbind(),
        })
    })
}

pub(crate) struct Names {
    callbacks: Py<PyString>,
    tags: Py<PyString>,
    metadata: Py<PyString>,
    run_id: Py<PyString>,
    run_name: Py<PyString>,
    configurable: Py<PyString>,
    runtime_key: Py<PyString>,
    config: Py<PyString>,
    runtime: Py<PyString>,
    error: Py<PyString>,
    int: Py<PyString>,
    is_safe: Py<PyString>,
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

fn set_attr(obj: &Bound<'_, PyAny>, name: &Bound<'_, PyString>, value: &Bound<'_, PyAny>) -> PyResult<()> {
    // SAFETY: live objects; the generic setter is `object.__setattr__`.
    let rc = unsafe { ffi::PyObject_GenericSetAttr(obj.as_ptr(), name.as_ptr(), value.as_ptr()) };
    if rc != 0 {
        return Err(PyErr::fetch(obj.py()));
    }
    Ok(())
}

/// `langchain_core.utils.uuid.uuid7()`: uuid_utils' generator, made into a
/// stdlib `UUID` as `uuid_utils.compat` makes it (no `__init__`).
fn uuid7<'py>(py: Python<'py>, im: &Imports, n: &Names) -> PyResult<Bound<'py, PyAny>> {
    let value = im.uuid7_int.bind(py).call1((py.None(), py.None()))?;
    let u = im.object_new.bind(py).call1((im.uuid_cls.bind(py),))?;
    set_attr(&u, n.int.bind(py), &value)?;
    set_attr(&u, n.is_safe.bind(py), im.safe_unknown.bind(py))?;
    Ok(u)
}

/// langchain-core's `_merge_metadata_dicts(base, incoming)`: natively for two
/// dicts neither of which carries `lc_versions` (the only key merged a level
/// deeper), else langchain-core's own.
fn merge_metadata_dicts<'py>(
    im: &Imports,
    base: &Bound<'py, PyAny>,
    incoming: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = base.py();
    if let (Ok(b), Ok(i)) = (base.cast::<PyDict>(), incoming.cast::<PyDict>()) {
        if !b.contains(pyo3::intern!(py, "lc_versions"))? && !i.contains(pyo3::intern!(py, "lc_versions"))? {
            let merged = b.copy()?;
            merged.update(i.as_mapping())?;
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

pub(crate) fn parent<'py>(im: &Imports, n: &Names, config: &Bound<'py, PyDict>, manager: &Bound<'py, PyAny>) -> PyResult<Parent<'py>> {
    let py = config.py();
    let inheritable = PyList::empty(py);
    for t in manager.getattr(pyo3::intern!(py, "inheritable_tags"))?.try_iter()? {
        inheritable.append(t?)?;
    }
    if let Some(tags) = config.get_item(n.tags.bind(py))? {
        if tags.is_truthy()? {
            // add_tags(tags): a tag already there moves to the end
            let tags: Vec<Bound<'py, PyAny>> = tags.try_iter()?.collect::<PyResult<_>>()?;
            let own = PyList::empty(py);
            for t in manager.getattr(pyo3::intern!(py, "tags"))?.try_iter()? {
                own.append(t?)?;
            }
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
            if r.is_truthy()? { r } else { uuid7(py, im, n)? }
        }
        None => uuid7(py, im, n)?,
    };
    Ok(Parent { tags: inheritable, metadata, run_id })
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
    let child = if manager_cls.is(im.callback_manager.bind(py)) {
        // attributes in the order BaseCallbackManager.__init__ sets them
        let child = im.object_new.bind(py).call1((manager_cls,))?;
        child.setattr(pyo3::intern!(py, "handlers"), PyList::empty(py))?;
        child.setattr(pyo3::intern!(py, "inheritable_handlers"), PyList::empty(py))?;
        child.setattr(pyo3::intern!(py, "parent_run_id"), &p.run_id)?;
        child.setattr(pyo3::intern!(py, "tags"), &tags)?;
        child.setattr(pyo3::intern!(py, "inheritable_tags"), &inheritable)?;
        child.setattr(pyo3::intern!(py, "metadata"), metadata)?;
        child.setattr(pyo3::intern!(py, "inheritable_metadata"), inheritable_metadata)?;
        child
    } else {
        let kw = PyDict::new(py);
        kw.set_item(pyo3::intern!(py, "handlers"), PyList::empty(py))?;
        kw.set_item(pyo3::intern!(py, "inheritable_handlers"), PyList::empty(py))?;
        kw.set_item(pyo3::intern!(py, "parent_run_id"), &p.run_id)?;
        kw.set_item(pyo3::intern!(py, "tags"), &tags)?;
        kw.set_item(pyo3::intern!(py, "inheritable_tags"), &inheritable)?;
        kw.set_item(pyo3::intern!(py, "metadata"), metadata)?;
        kw.set_item(pyo3::intern!(py, "inheritable_metadata"), inheritable_metadata)?;
        manager_cls.call((), Some(&kw))?
    };
    let tag = PyString::new(py, &format!("seq:step:{i}"));
    let child_tags = child.getattr(pyo3::intern!(py, "tags"))?;
    if p.tags.contains(&tag)? {
        child.call_method1(pyo3::intern!(py, "add_tags"), (PyList::new(py, [&tag])?, false))?;
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
pub(crate) fn in_context<T>(ctx: &Bound<'_, PyAny>, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
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

/// `isinstance(value, Runnable)`.
pub(crate) fn is_runnable(value: &Bound<'_, PyAny>) -> PyResult<bool> {
    value.is_instance(imports(value.py())?.runnable.bind(value.py()))
}

/// Whether a node's result is a `Runnable` to invoke in turn (`recurse`).
pub(crate) fn recurses(step: &Bound<'_, PyAny>, ret: &Bound<'_, PyAny>) -> PyResult<bool> {
    let im = imports(ret.py())?;
    Ok(!ret.is_exact_instance_of::<PyDict>()
        && step.getattr(pyo3::intern!(step.py(), "recurse"))?.is_truthy()?
        && ret.is_instance(im.runnable.bind(ret.py()))?)
}

/// `RunnableCallable.invoke(input, config, **kwargs)` for a plain callable
/// (`trace=False`, one positional input); None when it must go through
/// `invoke` itself (see [`injected_kwargs`]).
fn call_plain<'py>(
    step: &Bound<'py, PyAny>,
    input: &Bound<'py, PyAny>,
    config: &Bound<'py, PyDict>,
    kwargs: Option<&Bound<'py, PyDict>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = step.py();
    let Some(call_kwargs) = injected_kwargs(step, config, kwargs)? else { return Ok(None) };
    let ret = step.getattr(pyo3::intern!(py, "func"))?.call((input,), Some(&call_kwargs))?;
    if recurses(step, &ret)? {
        return Ok(Some(ret.call_method1(pyo3::intern!(py, "invoke"), (input, config))?));
    }
    Ok(Some(ret))
}

/// A plain callable whose `ainvoke` awaits its async function (`afunc`).
fn is_plain_async(im: &Imports, step: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = step.py();
    Ok(step.get_type().is(im.runnable_callable.bind(py))
        && !step.getattr(pyo3::intern!(py, "trace"))?.is_truthy()?
        && !step.getattr(pyo3::intern!(py, "explode_args"))?.is_truthy()?
        && !step.getattr(pyo3::intern!(py, "afunc"))?.is_none())
}

fn is_plain_callable(im: &Imports, step: &Bound<'_, PyAny>) -> PyResult<bool> {
    let py = step.py();
    Ok(step.get_type().is(im.runnable_callable.bind(py))
        && !step.getattr(pyo3::intern!(py, "trace"))?.is_truthy()?
        && !step.getattr(pyo3::intern!(py, "explode_args"))?.is_truthy()?
        && !step.getattr(pyo3::intern!(py, "func"))?.is_none())
}

/// A node's `RunnableSeq` for runs without callback handlers (module docs).
#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct LeanSeq {
    seq: Py<PyAny>,
    pub(crate) steps: Py<PyTuple>,
    name: Py<PyAny>,
    /// which steps after the first take a config of their own (routers do; a
    /// ChannelWrite only reads its send function from it)
    pub(crate) own_config: Py<PyTuple>,
    /// the native plan of each step that is a known writer, else None
    pub(crate) native: Py<PyTuple>,
    plain_first: bool,
    /// the first step is a plain callable with an async function
    plain_first_async: bool,
}

#[pymethods]
impl LeanSeq {
    #[new]
    fn new(seq: &Bound<'_, PyAny>) -> PyResult<Self> {
        guarded("LeanSeq", || {
            let py = seq.py();
            let im = imports(py)?;
            let steps: Vec<Bound<'_, PyAny>> = seq.getattr(pyo3::intern!(py, "steps"))?.try_iter()?.collect::<PyResult<_>>()?;
            let mut own = Vec::with_capacity(steps.len());
            let mut native = Vec::with_capacity(steps.len());
            for s in &steps {
                own.push(!s.is_instance(im.channel_write.bind(py))?);
                native.push(match writer_plan(s)? {
                    Some(plan) => plan.into_any(),
                    None => py.None().into_bound(py),
                });
            }
            let plain_first = match steps.first() {
                Some(s) => is_plain_callable(im, s)?,
                None => false,
            };
            let plain_first_async = match steps.first() {
                Some(s) => is_plain_async(im, s)?,
                None => false,
            };
            Ok(LeanSeq {
                seq: seq.clone().unbind(),
                name: seq.getattr(pyo3::intern!(py, "name"))?.unbind(),
                steps: PyTuple::new(py, steps)?.unbind(),
                own_config: PyTuple::new(py, own)?.unbind(),
                native: PyTuple::new(py, native)?.unbind(),
                plain_first,
                plain_first_async,
            })
        })
    }

    #[getter]
    fn seq(&self, py: Python<'_>) -> Py<PyAny> {
        self.seq.clone_ref(py)
    }

    #[getter]
    fn steps(&self, py: Python<'_>) -> Py<PyTuple> {
        self.steps.clone_ref(py)
    }

    #[getter]
    fn name(&self, py: Python<'_>) -> Py<PyAny> {
        self.name.clone_ref(py)
    }

    #[getter]
    fn own_config(&self, py: Python<'_>) -> Py<PyTuple> {
        self.own_config.clone_ref(py)
    }

    #[getter]
    fn native(&self, py: Python<'_>) -> Py<PyTuple> {
        self.native.clone_ref(py)
    }

    #[pyo3(signature = (input, config, **kwargs))]
    fn invoke<'py>(
        &self,
        input: &Bound<'py, PyAny>,
        config: &Bound<'py, PyAny>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = input.py();
        let im = imports(py)?;
        let n = names(py)?;
        let manager = match config.cast::<PyDict>() {
            Ok(c) => c.get_item(n.callbacks.bind(py))?,
            Err(_) => None,
        };
        let manager = match manager {
            Some(m) if m.is_instance(im.base_manager.bind(py))? => m,
            _ => return self.seq.bind(py).call_method(pyo3::intern!(py, "invoke"), (input, config), kwargs),
        };
        guarded("LeanSeq.invoke", || {
            let config = config.cast::<PyDict>()?;
            let manager_cls = manager.get_type().into_any();
            let p = parent(im, n, config, &manager)?;
            let first = step_config(im, n, config, &manager_cls, &p, 1)?;
            let steps = self.steps.bind(py);
            let step0 = steps.get_item(0)?;
            let ctx = config_context(&first)?;
            let mut value = in_context(&ctx, || {
                if self.plain_first {
                    if let Some(out) = call_plain(&step0, input, &first, kwargs)? {
                        return Ok(out);
                    }
                }
                step0.call_method(pyo3::intern!(py, "invoke"), (input, &first), kwargs)
            })?;
            let native = self.native.bind(py);
            let own = self.own_config.bind(py);
            for i in 1..steps.len() {
                let plan = native.get_item(i)?;
                if !plan.is_none() {
                    value = channel_write(plan.cast::<PyTuple>()?, &value, config.as_any(), true)?;
                    continue;
                }
                let step = steps.get_item(i)?;
                value = if own.get_item(i)?.is_truthy()? {
                    step.call_method1(pyo3::intern!(py, "invoke"), (&value, step_config(im, n, config, &manager_cls, &p, i + 1)?))?
                } else {
                    step.call_method1(pyo3::intern!(py, "invoke"), (&value, config))?
                };
            }
            Ok(value)
        })
    }

    /// `RunnableSeq.ainvoke(input, config, **kwargs)`: an awaitable (see
    /// `node_call_async.rs`).
    #[pyo3(signature = (input, config, **kwargs))]
    fn ainvoke<'py>(
        slf: &Bound<'py, Self>,
        input: &Bound<'py, PyAny>,
        config: &Bound<'py, PyAny>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let im = imports(py)?;
        let n = names(py)?;
        let lean = slf.get();
        let manager = match config.cast::<PyDict>() {
            Ok(c) => c.get_item(n.callbacks.bind(py))?,
            Err(_) => None,
        };
        let manager = match manager {
            Some(m) if m.is_instance(im.base_manager.bind(py))? => m,
            _ => return lean.seq.bind(py).call_method(pyo3::intern!(py, "ainvoke"), (input, config), kwargs),
        };
        guarded("LeanSeq.ainvoke", || {
            let config = config.cast::<PyDict>()?;
            let manager_cls = manager.get_type().into_any();
            let p = parent(im, n, config, &manager)?;
            let first = step_config(im, n, config, &manager_cls, &p, 1)?;
            let ctx = config_context(&first)?;
            let step0 = lean.steps.bind(py).get_item(0)?;
            // the first step's awaitable, created as LangGraph creates it:
            // outside the context it then runs in
            let plain_kwargs = if lean.plain_first_async {
                injected_kwargs(&step0, &first, kwargs)?
            } else {
                None
            };
            let (awaitable, plain) = match plain_kwargs {
                Some(kw) => (step0.getattr(pyo3::intern!(py, "afunc"))?.call((input,), Some(&kw))?, true),
                None => (step0.call_method(pyo3::intern!(py, "ainvoke"), (input, &first), kwargs)?, false),
            };
            let run = crate::node_call_async::LeanAwait::new(
                slf, input, config, first, ctx, manager_cls, p, awaitable, plain,
            )?;
            Ok(Bound::new(py, run)?.into_any())
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.seq)?;
        visit.call(&self.steps)?;
        visit.call(&self.name)?;
        visit.call(&self.own_config)?;
        visit.call(&self.native)?;
        Ok(())
    }
}
