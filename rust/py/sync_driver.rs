//! The driver of a sync run: `Pregel.stream`'s superstep loop, as an iterator
//! over the chunks the stream yields.
//!
//! ```text
//! while tick():                       # tick.rs
//!     cached writes                   # a cache: the loop's Python
//!     run the step's tasks            # one task: here; several: the loop's pool
//!     after_tick()                    # tick.rs
//!     graph callbacks, a "sync" save's error
//! ```
//!
//! Chunks are handed out where LangGraph's runner hands control back to its
//! stream — before the step's tasks run, after each task is committed — so a
//! consumer that stops reading stops the run at the same point.
//!
//! A step with one task and no timeout or eager stream runs it here
//! (`run_with_retry`, the commit); otherwise, and after a failure, the loop's
//! Python generator (`_run_pool`, `_single_failed`) runs it, its yields being
//! the points where chunks are handed out.

use pyo3::exceptions::PyStopIteration;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;
use crate::loop_fields::{Fields, F};
use crate::tick::{after_tick, tasks_to_run, tick_prelude};

struct Imports {
    key_call: Py<PyAny>,
    partial: Py<PyAny>,
    exception: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        Ok(Imports {
            key_call: py.import("langgraph._internal._constants")?.getattr("CONFIG_KEY_CALL")?.unbind(),
            partial: py.import("functools")?.getattr("partial")?.unbind(),
            exception: py.import("builtins")?.getattr("Exception")?.unbind(),
        })
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// the next step's `tick()`
    Tick,
    /// the step's tasks, with chunks handed out before
    Run,
    /// a Python generator runs (part of) the step
    Delegated,
    /// `after_tick()` and what follows a step
    After,
    /// the loop ended (or raised)
    Done,
}

/// `_SyncLoop`'s superstep loop; iterating it runs the run's steps.
#[pyclass(module = "langgraph_rs._native")]
pub struct SyncSteps {
    loop_: Py<PyAny>,
    /// the run's chunk queue
    queue: Py<PyAny>,
    /// `() -> iterator` of the queued chunks, shaped for the caller
    output: Py<PyAny>,
    timeout: Py<PyAny>,
    /// the eager stream's waker, or None
    notify: Py<PyAny>,
    /// called after each step when graph callbacks are queued
    lifecycle: Py<PyAny>,
    phase: Phase,
    chunks: Option<Py<PyAny>>,
    delegated: Option<Py<PyAny>>,
    to_run: Option<Py<PyList>>,
}

impl SyncSteps {
    /// A point where LangGraph's runner yields to its stream.
    fn hand_out(&mut self, py: Python<'_>) -> PyResult<()> {
        if self.queue.bind(py).len()? > 0 {
            self.chunks = Some(self.output.bind(py).call0()?.unbind());
        }
        Ok(())
    }

    /// The step's one task, run and committed here; a failure goes on in the
    /// loop's `_single_failed`.
    fn run_one(&mut self, py: Python<'_>, task: &Bound<'_, PyAny>) -> PyResult<()> {
        let im = imports(py)?;
        let loop_ = self.loop_.bind(py);
        let configurable = PyDict::new(py);
        let call = im
            .partial
            .bind(py)
            .call1((loop_.getattr(intern!(py, "_call_impl"))?, task))?;
        configurable.set_item(im.key_call.bind(py), call)?;
        let lf = Fields::of(loop_)?;
        let policy = lf.get(F::RetryPolicy)?;
        let failed = match crate::retry::run_with_retry(py, task, &policy, Some(&configurable)) {
            Ok(_) => None,
            Err(e) if e.is_instance(py, im.exception.bind(py)) => Some(e.into_value(py)),
            Err(e) => return Err(e),
        };
        match &failed {
            None => crate::step_commit::commit_ok(loop_, task)?,
            Some(exc) => {
                loop_.call_method1(intern!(py, "_commit"), (task, exc))?;
            }
        }
        if lf.truthy(F::CallFuts)? {
            loop_.call_method0(intern!(py, "_wait_calls"))?;
        }
        match failed {
            None => self.phase = Phase::After,
            Some(exc) => {
                let gen = loop_.call_method1(
                    intern!(py, "_single_failed"),
                    (task, exc, &self.timeout, &self.notify),
                )?;
                self.delegate(gen);
            }
        }
        Ok(())
    }

    fn delegate(&mut self, gen: Bound<'_, PyAny>) {
        self.delegated = Some(gen.unbind());
        self.phase = Phase::Delegated;
    }

    /// Runs the loop on to the next chunk; None when the run's steps are over.
    fn advance<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        loop {
            if let Some(chunks) = &self.chunks {
                match chunks.bind(py).call_method0(intern!(py, "__next__")) {
                    Ok(chunk) => return Ok(Some(chunk)),
                    Err(e) if e.is_instance_of::<PyStopIteration>(py) => self.chunks = None,
                    Err(e) => return Err(e),
                }
            }
            let loop_ = self.loop_.bind(py).clone();
            match self.phase {
                Phase::Done => return Ok(None),
                Phase::Tick => {
                    if !tick_prelude(&loop_)? {
                        self.phase = Phase::Done;
                        continue;
                    }
                    if !Fields::of(&loop_)?.is_none(F::Cache)? {
                        loop_.call_method0(intern!(py, "_put_cached_writes"))?;
                    }
                    self.to_run = Some(tasks_to_run(&loop_)?.unbind());
                    self.phase = Phase::Run;
                    self.hand_out(py)?;
                }
                Phase::Run => {
                    let tasks = match self.to_run.take() {
                        Some(tasks) => tasks.into_bound(py),
                        None => PyList::empty(py),
                    };
                    if tasks.is_empty() {
                        self.phase = Phase::After;
                    } else if tasks.len() == 1 && self.timeout.is_none(py) && self.notify.is_none(py) {
                        self.run_one(py, &tasks.get_item(0)?)?;
                    } else {
                        let gen = loop_.call_method1(
                            intern!(py, "_run_pool"),
                            (tasks, &self.timeout, &self.notify),
                        )?;
                        self.delegate(gen);
                    }
                }
                Phase::Delegated => {
                    let Some(gen) = &self.delegated else {
                        self.phase = Phase::After;
                        continue;
                    };
                    match gen.bind(py).call_method0(intern!(py, "__next__")) {
                        Ok(_) => self.hand_out(py)?,
                        Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
                            self.delegated = None;
                            self.phase = Phase::After;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Phase::After => {
                    after_tick(&loop_)?;
                    let lf = Fields::of(&loop_)?;
                    if lf.truthy(F::Lifecycle)? {
                        self.lifecycle.bind(py).call0()?;
                    }
                    if lf.get(F::Durability)?.eq(intern!(py, "sync"))? {
                        loop_.call_method0(intern!(py, "raise_put_error"))?;
                    }
                    self.phase = Phase::Tick;
                }
            }
        }
    }
}

#[pymethods]
impl SyncSteps {
    #[new]
    fn new(
        loop_: Py<PyAny>,
        queue: Py<PyAny>,
        output: Py<PyAny>,
        timeout: Py<PyAny>,
        notify: Py<PyAny>,
        lifecycle: Py<PyAny>,
    ) -> Self {
        SyncSteps {
            loop_,
            queue,
            output,
            timeout,
            notify,
            lifecycle,
            phase: Phase::Tick,
            chunks: None,
            delegated: None,
            to_run: None,
        }
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guarded("sync run", || {
            let out = self.advance(py);
            if out.is_err() {
                // an error ends the run: nothing of it runs again
                self.phase = Phase::Done;
                self.chunks = None;
                self.delegated = None;
            }
            out
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.loop_)?;
        visit.call(&self.queue)?;
        visit.call(&self.output)?;
        visit.call(&self.timeout)?;
        visit.call(&self.notify)?;
        visit.call(&self.lifecycle)?;
        if let Some(c) = &self.chunks {
            visit.call(c)?;
        }
        if let Some(g) = &self.delegated {
            visit.call(g)?;
        }
        if let Some(t) = &self.to_run {
            visit.call(t)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.chunks = None;
        self.delegated = None;
        self.to_run = None;
        self.phase = Phase::Done;
    }
}
