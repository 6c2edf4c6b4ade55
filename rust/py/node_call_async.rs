//! A node's steps awaited natively: `LeanSeq.ainvoke` for runs no callback
//! handler records (see `node_call.rs` for the sync side).
//!
//! LangGraph's `RunnableSeq.ainvoke` runs the first step as an asyncio task
//! created in the step's config context. `LeanAwait` runs it in that same
//! context without a task of its own: every `send`/`throw` into the step's
//! coroutine happens with the context entered, which is what the task would
//! do, so `get_config()`, `interrupt()`, `get_stream_writer()` and context
//! variables the node sets behave alike, and the futures the node awaits go
//! straight to the asyncio task running the superstep. The task's two turns
//! of the event loop are kept: its start waits behind the callbacks already
//! ready (where the task's first step was scheduled), and so does what
//! follows its end (where the awaiting task was woken), so nodes running
//! side by side start and end in LangGraph's order. A turn taken when
//! nothing else is ready changes no order, and is skipped. Under a task
//! factory (which may start tasks eagerly, without a turn) the node goes
//! through LangGraph's own `RunnableSeq.ainvoke`. A plain
//! `RunnableCallable` has its async function called directly with the
//! arguments it asks for. The writers then run natively when their plan is
//! known; any other step is awaited through its `ainvoke`.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;
use crate::channel_write::channel_write;
use crate::node_config::{imports, in_context, is_runnable, names, recurses, step_config, Parent};
use crate::retry_async::{resume, returning, thrown, Resume, Step};

/// Where a node's awaitable learns whether a turn of the event loop would
/// change any order: the running loop's queue of ready callbacks.
pub(crate) enum Turns {
    /// outside a running loop: no turn to take
    Never,
    /// a loop without asyncio's `_ready` queue: taken to have callbacks ready
    Always,
    /// asyncio's own loop: its `_ready` queue
    When(Py<PyAny>),
}

impl Turns {
    /// The running loop's turns, or None when it has a task factory (whose
    /// tasks may start eagerly, without the turns above): the node then
    /// goes through LangGraph's own call, which makes its task with it.
    pub(crate) fn of_running_loop(py: Python<'_>) -> PyResult<Option<Turns>> {
        let aioloop = crate::stream_put::running_loop(py)?;
        if aioloop.is_none() {
            return Ok(Some(Turns::Never));
        }
        if !aioloop.call_method0(pyo3::intern!(py, "get_task_factory"))?.is_none() {
            return Ok(None);
        }
        Ok(Some(match aioloop.getattr(pyo3::intern!(py, "_ready")) {
            Ok(ready) => Turns::When(ready.unbind()),
            Err(_) => Turns::Always,
        }))
    }

    /// Whether callbacks other than the running task's are ready.
    fn others_ready(&self, py: Python<'_>) -> PyResult<bool> {
        match self {
            Turns::Never => Ok(false),
            Turns::Always => Ok(true),
            Turns::When(ready) => Ok(ready.bind(py).len()? > 0),
        }
    }
}

/// The awaitable of `LeanSeq.ainvoke(input, config)`.
#[pyclass(module = "langgraph_rs._native")]
pub struct LeanAwait {
    /// the node's steps, their native writer plans, and which take a config
    /// of their own (see `LeanSeq`)
    steps: Py<PyTuple>,
    native: Py<PyTuple>,
    own_config: Py<PyTuple>,
    input: Py<PyAny>,
    config: Py<PyDict>,
    first: Py<PyDict>,
    ctx: Py<PyAny>,
    manager_cls: Py<PyAny>,
    parent_tags: Py<PyList>,
    parent_metadata: Py<PyAny>,
    parent_run_id: Py<PyAny>,
    /// the iterator being awaited; None once finished
    inner: Option<Py<PyAny>>,
    /// the first step runs in its config context
    in_ctx: bool,
    /// the step being awaited (0: the node itself)
    stage: usize,
    /// the first step is the plain function's coroutine (a returned
    /// `Runnable` is then awaited in turn, as `RunnableCallable` does)
    plain: bool,
    /// the turn of the event loop before the first step starts is still due
    start_turn: bool,
    turns: Turns,
    /// the first step's result, held over the turn after it ended
    ended: Option<Py<PyAny>>,
}

impl LeanAwait {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new<'py>(
        (steps, native, own_config): (&Bound<'py, PyTuple>, &Bound<'py, PyTuple>, &Bound<'py, PyTuple>),
        input: &Bound<'py, PyAny>,
        config: &Bound<'py, PyDict>,
        first: Bound<'py, PyDict>,
        ctx: Bound<'py, PyAny>,
        manager_cls: Bound<'py, PyAny>,
        parent: Parent<'py>,
        awaitable: Bound<'py, PyAny>,
        plain: bool,
        turns: Turns,
    ) -> PyResult<LeanAwait> {
        Ok(LeanAwait {
            steps: steps.clone().unbind(),
            native: native.clone().unbind(),
            own_config: own_config.clone().unbind(),
            input: input.clone().unbind(),
            config: config.clone().unbind(),
            first: first.unbind(),
            ctx: ctx.unbind(),
            manager_cls: manager_cls.unbind(),
            parent_tags: parent.tags.unbind(),
            parent_metadata: parent.metadata.unbind(),
            parent_run_id: parent.run_id.unbind(),
            inner: Some(awaitable.call_method0(pyo3::intern!(awaitable.py(), "__await__"))?.unbind()),
            in_ctx: true,
            stage: 0,
            plain,
            start_turn: true,
            turns,
            ended: None,
        })
    }

    /// After step `stage` returned `value` (the first step's own returned
    /// `Runnable` awaited already): runs the writers that need no awaiting;
    /// returns the next awaitable's iterator, or None when the steps are
    /// done (the result is then in `value`).
    fn advance<'py>(&mut self, py: Python<'py>, value: &mut Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let steps = self.steps.bind(py);
        let config = self.config.bind(py);
        self.in_ctx = false;
        loop {
            self.stage += 1;
            let i = self.stage;
            if i >= steps.len() {
                return Ok(None);
            }
            let step = steps.get_item(i)?;
            let plan = self.native.bind(py).get_item(i)?;
            if !plan.is_none() {
                *value = channel_write(plan.cast::<PyTuple>()?, value, config.as_any(), false)?;
                if step.getattr(pyo3::intern!(py, "recurse"))?.is_truthy()? && is_runnable(value)? {
                    let next = value.call_method1(pyo3::intern!(py, "ainvoke"), (&*value, config))?;
                    return Ok(Some(next.call_method0(pyo3::intern!(py, "__await__"))?));
                }
                continue;
            }
            let cfg = if self.own_config.bind(py).get_item(i)?.is_truthy()? {
                let parent = Parent {
                    tags: self.parent_tags.bind(py).clone(),
                    metadata: self.parent_metadata.bind(py).clone(),
                    run_id: self.parent_run_id.bind(py).clone(),
                };
                step_config(imports(py)?, names(py)?, config, self.manager_cls.bind(py), &parent, i + 1)?
            } else {
                config.clone()
            };
            let next = step.call_method1(pyo3::intern!(py, "ainvoke"), (&*value, cfg))?;
            return Ok(Some(next.call_method0(pyo3::intern!(py, "__await__"))?));
        }
    }

    /// The first step's iterator once its returned value, if a `Runnable` a
    /// plain function returned, is to be awaited in turn (`RunnableCallable`).
    fn recursion<'py>(&mut self, py: Python<'py>, value: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        if !(self.plain && recurses(&self.steps.bind(py).get_item(0)?, value)?) {
            return Ok(None);
        }
        self.plain = false;
        let next = value.call_method1(pyo3::intern!(py, "ainvoke"), (self.input.bind(py), self.first.bind(py)))?;
        Ok(Some(next.call_method0(pyo3::intern!(py, "__await__"))?))
    }

    /// After the steps from `value` on: the next iterator to drive, or the
    /// steps' result raised as `StopIteration`.
    fn after_step<'py>(&mut self, py: Python<'py>, mut value: Bound<'py, PyAny>) -> PyResult<Resume<'py>> {
        match self.advance(py, &mut value)? {
            Some(next) => {
                self.inner = Some(next.unbind());
                Ok(Resume::Send(py.None().into_bound(py)))
            }
            None => Err(returning(value)),
        }
    }

    fn drive<'py>(&mut self, py: Python<'py>, mut how: Resume<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.start_turn {
            self.start_turn = false;
            if self.turns.others_ready(py)? {
                return Ok(py.None().into_bound(py)); // (a bare yield: the task's turn)
            }
        }
        if let Some(value) = self.ended.take() {
            if let Resume::Throw(e) = how {
                return Err(PyErr::from_value(e));
            }
            how = self.after_step(py, value.into_bound(py))?;
        }
        loop {
            let Some(inner) = self.inner.as_ref().map(|i| i.bind(py).clone()) else {
                return Err(pyo3::exceptions::PyRuntimeError::new_err(
                    "cannot reuse already awaited coroutine",
                ));
            };
            let step = if self.in_ctx {
                in_context(self.ctx.bind(py), || Ok(resume(&inner, how)))?
            } else {
                resume(&inner, how)
            };
            match step {
                Step::Yield(v) => return Ok(v),
                Step::Raise(e) => {
                    self.inner = None;
                    return Err(e);
                }
                Step::Return(value) => {
                    self.inner = None;
                    if self.stage == 0 {
                        if let Some(next) = self.recursion(py, &value)? {
                            self.inner = Some(next.unbind());
                            how = Resume::Send(py.None().into_bound(py));
                            continue;
                        }
                        if self.turns.others_ready(py)? {
                            self.in_ctx = false;
                            self.ended = Some(value.unbind());
                            return Ok(py.None().into_bound(py)); // (the awaiting task's turn)
                        }
                    }
                    how = self.after_step(py, value)?;
                }
            }
        }
    }
}

#[pymethods]
impl LeanAwait {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.send(py, py.None().into_bound(py))
    }

    fn send<'py>(&mut self, py: Python<'py>, value: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        guarded("LeanSeq.ainvoke", || self.drive(py, Resume::Send(value)))
    }

    #[pyo3(signature = (typ, val=None, tb=None))]
    fn throw<'py>(
        &mut self,
        py: Python<'py>,
        typ: Bound<'py, PyAny>,
        val: Option<Bound<'py, PyAny>>,
        tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guarded("LeanSeq.ainvoke", || {
            let exc = thrown(typ, val, tb)?;
            if self.inner.is_none() {
                return Err(PyErr::from_value(exc));
            }
            self.drive(py, Resume::Throw(exc))
        })
    }

    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        if let Some(inner) = self.inner.take() {
            let inner = inner.bind(py);
            if self.in_ctx {
                in_context(self.ctx.bind(py), || inner.call_method0(pyo3::intern!(py, "close")).map(|_| ()))?;
            } else {
                inner.call_method0(pyo3::intern!(py, "close"))?;
            }
        }
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.steps)?;
        visit.call(&self.native)?;
        visit.call(&self.own_config)?;
        visit.call(&self.input)?;
        visit.call(&self.config)?;
        visit.call(&self.first)?;
        visit.call(&self.ctx)?;
        visit.call(&self.manager_cls)?;
        visit.call(&self.parent_tags)?;
        visit.call(&self.parent_metadata)?;
        visit.call(&self.parent_run_id)?;
        if let Some(i) = &self.inner {
            visit.call(i)?;
        }
        if let Some(v) = &self.ended {
            visit.call(v)?;
        }
        if let Turns::When(ready) = &self.turns {
            visit.call(ready)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.inner = None;
        self.ended = None;
    }
}
