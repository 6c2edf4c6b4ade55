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
//! `RunnableSeq` itself. `ainvoke` returns the awaitable of
//! `node_call_async.rs`; what both build is in `node_config.rs`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;
use crate::channel_write::{channel_write, writer_plan};
use crate::node_config::{
    config_context, imports, in_context, injected_kwargs, is_runnable, names, parent, recurses, step_config, Imports,
};

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
        // a task factory (eager tasks, say) decides how the first step's task
        // runs: LangGraph's own call makes that task with it
        let Some(turns) = crate::node_call_async::Turns::of_running_loop(py)? else {
            return lean.seq.bind(py).call_method(pyo3::intern!(py, "ainvoke"), (input, config), kwargs);
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
                (lean.steps.bind(py), lean.native.bind(py), lean.own_config.bind(py)),
                input,
                config,
                first,
                ctx,
                manager_cls,
                p,
                awaitable,
                plain,
                turns,
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

/// A node that is a `ChannelWrite` alone (StateGraph's `__start__`, a node
/// whose bound is the identity), for lean runs: `invoke` is the writer's
/// native plan, as `RunnableCallable.invoke` runs an untraced `_write`.
#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct LeanWrite {
    writer: Py<PyAny>,
    plan: Py<PyTuple>,
}

impl LeanWrite {
    /// The lean form of `writer`, if it is an exact `ChannelWrite` whose
    /// writes run natively.
    pub(crate) fn of<'py>(writer: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, LeanWrite>>> {
        let py = writer.py();
        if !writer.get_type().is(imports(py)?.channel_write.bind(py)) {
            return Ok(None);
        }
        match writer_plan(writer)? {
            Some(plan) => Ok(Some(Bound::new(py, LeanWrite { writer: writer.clone().unbind(), plan: plan.unbind() })?)),
            None => Ok(None),
        }
    }
}

#[pymethods]
impl LeanWrite {
    /// The lean form of `writer`, or None (see `LeanWrite::of`).
    #[staticmethod]
    #[pyo3(name = "of")]
    fn of_writer<'py>(writer: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, LeanWrite>>> {
        LeanWrite::of(writer)
    }

    #[getter]
    fn writer(&self, py: Python<'_>) -> Py<PyAny> {
        self.writer.clone_ref(py)
    }

    #[pyo3(signature = (input, config=None, **kwargs))]
    fn invoke<'py>(
        &self,
        input: &Bound<'py, PyAny>,
        config: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = input.py();
        match config {
            Some(config) if !config.is_none() && kwargs.is_none_or(|k| k.is_empty()) => {
                guarded("LeanWrite.invoke", || channel_write(self.plan.bind(py), input, config, true))
            }
            _ => self.writer.bind(py).call_method(pyo3::intern!(py, "invoke"), (input, config), kwargs),
        }
    }

    /// As `invoke`, for an async run: the writes are made and a done
    /// future returned (LangGraph's `_awrite` neither awaits nor yields, so
    /// its coroutine's first resume returns), which raises a failure when
    /// awaited, as the coroutine would. An input that is a `Runnable` (to
    /// be awaited in turn), or a call outside a running event loop, goes to
    /// the writer's own `ainvoke`.
    #[pyo3(signature = (input, config=None, **kwargs))]
    fn ainvoke<'py>(
        &self,
        input: &Bound<'py, PyAny>,
        config: Option<&Bound<'py, PyAny>>,
        kwargs: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let py = input.py();
        let aioloop = crate::stream_put::running_loop(py)?;
        match config {
            Some(config)
                if !config.is_none()
                    && kwargs.is_none_or(|k| k.is_empty())
                    && !aioloop.is_none()
                    && !is_runnable(input)? =>
            {
                guarded("LeanWrite.ainvoke", || {
                    let fut = aioloop.call_method0(pyo3::intern!(py, "create_future"))?;
                    match channel_write(self.plan.bind(py), input, config, false) {
                        Ok(v) => fut.call_method1(pyo3::intern!(py, "set_result"), (v,))?,
                        Err(e) => fut.call_method1(pyo3::intern!(py, "set_exception"), (e.into_value(py),))?,
                    };
                    Ok(fut)
                })
            }
            _ => self.writer.bind(py).call_method(pyo3::intern!(py, "ainvoke"), (input, config), kwargs),
        }
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.writer)?;
        visit.call(&self.plan)
    }
}
