//! Running an async task with its retry policy: LangGraph's
//! `arun_with_retry` (no timeout policy, no streaming), as a native awaitable.
//!
//! `ARetry` is what `await` drives: it forwards `send`/`throw`/`close` to the
//! attempt it runs (the awaitable of `task.proc.ainvoke(input, config)`), so
//! the futures a node awaits reach the asyncio task running the step
//! unchanged, and no coroutine frame of the engine's sits between them. An
//! attempt's failure is handled by the same code as the sync run's
//! (`retry.rs`); a backoff awaits `asyncio.sleep` the same way.

use pyo3::exceptions::{PyRuntimeError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;
use crate::retry::{after_sleep, first_config, on_failure, policy_of, retry_config, retry_helper, Failure};

enum Phase {
    /// running attempt `attempts + 1`
    Attempt,
    /// the backoff sleep after an attempt failed with `exc`
    Sleep { sleep_time: f64, exc: Py<PyAny> },
    Done,
}

/// How the awaited iterator is resumed.
pub(crate) enum Resume<'py> {
    Send(Bound<'py, PyAny>),
    Throw(Bound<'py, PyAny>),
}

/// What the awaited iterator did.
pub(crate) enum Step<'py> {
    Yield(Bound<'py, PyAny>),
    Return(Bound<'py, PyAny>),
    Raise(PyErr),
}

/// Resumes an awaitable's iterator (from `__await__`).
pub(crate) fn resume<'py>(inner: &Bound<'py, PyAny>, how: Resume<'py>) -> Step<'py> {
    let py = inner.py();
    let r = match how {
        Resume::Send(v) => inner.call_method1(pyo3::intern!(py, "send"), (v,)),
        Resume::Throw(e) => inner.call_method1(pyo3::intern!(py, "throw"), (e,)),
    };
    match r {
        Ok(v) => Step::Yield(v),
        Err(e) if e.is_instance_of::<PyStopIteration>(py) => {
            let value = e.value(py).getattr(pyo3::intern!(py, "value")).unwrap_or_else(|_| py.None().into_bound(py));
            Step::Return(value)
        }
        Err(e) => Step::Raise(e),
    }
}

/// The exception `throw(typ, val, tb)` raises into an awaitable: `val`, or
/// `typ` (instantiated when it is a class), with `tb` as its traceback.
pub(crate) fn thrown<'py>(
    typ: Bound<'py, PyAny>,
    val: Option<Bound<'py, PyAny>>,
    tb: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = typ.py();
    let exc = match val {
        Some(v) if !v.is_none() => v,
        _ if typ.is_instance_of::<pyo3::types::PyType>() => typ.call0()?,
        _ => typ,
    };
    if let Some(tb) = tb.filter(|t| !t.is_none()) {
        exc.call_method1(pyo3::intern!(py, "with_traceback"), (tb,))?;
    }
    Ok(exc)
}

/// `StopIteration(value)`: how an awaitable returns `value`.
pub(crate) fn returning(value: Bound<'_, PyAny>) -> PyErr {
    PyStopIteration::new_err((value.unbind(),))
}

/// The awaitable of `arun_with_retry(task, retry_policy, configurable=...)`.
#[pyclass(module = "langgraph_rs._native")]
pub struct ARetry {
    task: Py<PyAny>,
    retry_policy: Py<PyAny>,
    config: Py<PyAny>,
    /// the iterator being awaited: the attempt's, or the sleep's
    inner: Option<Py<PyAny>>,
    attempts: u32,
    phase: Phase,
}

impl ARetry {
    /// The awaitable iterator of the next attempt (its writes cleared first).
    fn start_attempt<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let task = self.task.bind(py);
        crate::runtime::task_attr(&task, pyo3::intern!(py, "writes"))?.call_method0(pyo3::intern!(py, "clear"))?;
        let awaitable = crate::runtime::task_attr(&task, pyo3::intern!(py, "proc"))?
            .call_method1(pyo3::intern!(py, "ainvoke"), (crate::runtime::task_attr(&task, pyo3::intern!(py, "input"))?, self.config.bind(py)))?;
        let inner = awaitable.call_method0(pyo3::intern!(py, "__await__"))?;
        self.inner = Some(inner.clone().unbind());
        self.phase = Phase::Attempt;
        Ok(inner)
    }

    /// Resumes the awaited iterator and runs the retry state machine until
    /// the node awaits something (returned) or the task ends (raised).
    fn drive<'py>(&mut self, py: Python<'py>, mut how: Resume<'py>) -> PyResult<Bound<'py, PyAny>> {
        loop {
            let inner = match (&self.inner, &self.phase) {
                (Some(i), Phase::Attempt | Phase::Sleep { .. }) => i.bind(py).clone(),
                _ => return Err(PyRuntimeError::new_err("cannot reuse already awaited coroutine")),
            };
            let step = resume(&inner, how);
            match step {
                Step::Yield(v) => return Ok(v),
                Step::Return(v) => match std::mem::replace(&mut self.phase, Phase::Done) {
                    Phase::Attempt => {
                        self.inner = None;
                        return Err(returning(v));
                    }
                    Phase::Sleep { sleep_time, exc } => {
                        let task = self.task.bind(py);
                        let config = after_sleep(task, self.config.bind(py), self.attempts, sleep_time, exc.bind(py))?;
                        self.config = retry_config(config, self.attempts)?.unbind();
                        self.start_attempt(py)?;
                        how = Resume::Send(py.None().into_bound(py));
                    }
                    Phase::Done => unreachable!("matched above"),
                },
                Step::Raise(err) => {
                    if !matches!(self.phase, Phase::Attempt) {
                        self.phase = Phase::Done;
                        self.inner = None;
                        return Err(err);
                    }
                    let task = self.task.bind(py).clone();
                    let config = self.config.bind(py).clone();
                    let exc = err.value(py).clone().into_any().unbind();
                    let outcome = on_failure(
                        &task,
                        &config,
                        self.retry_policy.bind(py),
                        &mut self.attempts,
                        err,
                        || retry_helper(py, "_is_user_raised_cancelled")?.call0()?.is_truthy(),
                    )?;
                    match outcome {
                        Failure::Handled => {
                            self.phase = Phase::Done;
                            self.inner = None;
                            return Err(returning(py.None().into_bound(py)));
                        }
                        Failure::Raise(err) => {
                            self.phase = Phase::Done;
                            self.inner = None;
                            return Err(err);
                        }
                        Failure::Retry(sleep_time) => {
                            let sleep = retry_helper(py, "asyncio")?.getattr(pyo3::intern!(py, "sleep"))?.call1((sleep_time,))?;
                            self.inner = Some(sleep.call_method0(pyo3::intern!(py, "__await__"))?.unbind());
                            self.phase = Phase::Sleep { sleep_time, exc };
                            how = Resume::Send(py.None().into_bound(py));
                        }
                    }
                }
            }
        }
    }
}

#[pymethods]
impl ARetry {
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
        guarded("arun_with_retry", || {
            if self.inner.is_none() && matches!(self.phase, Phase::Attempt) {
                if !value.is_none() {
                    return Err(pyo3::exceptions::PyTypeError::new_err(
                        "can't send non-None value to a just-started coroutine",
                    ));
                }
                self.start_attempt(py)?;
            }
            self.drive(py, Resume::Send(value))
        })
    }

    #[pyo3(signature = (typ, val=None, tb=None))]
    fn throw<'py>(
        &mut self,
        py: Python<'py>,
        typ: Bound<'py, PyAny>,
        val: Option<Bound<'py, PyAny>>,
        tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        guarded("arun_with_retry", || {
            let exc = thrown(typ, val, tb)?;
            if self.inner.is_none() {
                self.phase = Phase::Done;
                return Err(PyErr::from_value(exc));
            }
            self.drive(py, Resume::Throw(exc))
        })
    }

    fn close(&mut self, py: Python<'_>) -> PyResult<()> {
        self.phase = Phase::Done;
        if let Some(inner) = self.inner.take() {
            inner.bind(py).call_method0(pyo3::intern!(py, "close"))?;
        }
        Ok(())
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.task)?;
        visit.call(&self.retry_policy)?;
        visit.call(&self.config)?;
        if let Some(i) = &self.inner {
            visit.call(i)?;
        }
        if let Phase::Sleep { exc, .. } = &self.phase {
            visit.call(exc)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.inner = None;
        self.phase = Phase::Done;
    }
}

/// `arun_with_retry(task, retry_policy, configurable=configurable)` for a
/// task without a timeout policy, not streamed: an awaitable.
#[pyfunction]
#[pyo3(signature = (task, retry_policy, configurable=None))]
pub fn arun_with_retry<'py>(
    task: &Bound<'py, PyAny>,
    retry_policy: &Bound<'py, PyAny>,
    configurable: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, ARetry>> {
    guarded("arun_with_retry", || {
        let py = task.py();
        let retry = ARetry {
            task: task.clone().unbind(),
            retry_policy: policy_of(task, retry_policy)?.unbind(),
            config: first_config(task, configurable)?.unbind(),
            inner: None,
            attempts: 0,
            phase: Phase::Attempt,
        };
        Bound::new(py, retry)
    })
}
