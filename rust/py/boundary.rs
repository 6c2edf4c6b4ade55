//! The Rust/Python boundary: no panic crosses it as anything but an ordinary
//! Python exception.
//!
//! PyO3 turns a panic that reaches its trampoline into
//! `pyo3_runtime.PanicException`, a `BaseException`: it would slip past a
//! user's `except Exception` and past LangGraph's own error handling. Every
//! entry point of the binding runs its body through [`guarded`], which turns a
//! panic into [`EngineError`] (a `RuntimeError`) naming the operation.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use langgraph_rs_core::fault;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    langgraph_rs,
    EngineError,
    PyRuntimeError,
    "An internal error of the langgraph_rs engine (a Rust panic, caught at the \
     binding). The run that hit it fails; the process and other runs are unaffected."
);

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else {
        "(no message)"
    }
}

/// Runs the body of the binding's entry point `op`; a panic inside it becomes
/// `EngineError("langgraph_rs engine panicked in {op}: {message}")`.
///
/// Unwind safety: the only state a panic can leave half-changed is a run's
/// `core::State`, which sits behind a `Mutex` that the panic poisons; every
/// later use of that state fails with `EngineError` (see [`poisoned`]).
pub fn guarded<T>(op: &str, body: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => result,
        Err(payload) => Err(EngineError::new_err(format!(
            "langgraph_rs engine panicked in {op}: {}",
            panic_message(&*payload)
        ))),
    }
}

/// The error for a run state whose lock a panic poisoned.
pub fn poisoned() -> PyErr {
    EngineError::new_err(
        "langgraph_rs engine state is unusable: an earlier engine operation on it panicked",
    )
}

/// Test hook: arm a one-shot panic at the next `op` ("apply_writes",
/// "prepare" or "checkpoint"), on whichever thread reaches it first; `None`
/// disarms. Returns the operation that was armed before.
#[pyfunction]
#[pyo3(signature = (op))]
pub fn _debug_panic_next(op: Option<&str>) -> PyResult<Option<&'static str>> {
    guarded("_debug_panic_next", || {
        let next = match op {
            None => None,
            Some(name) => Some(fault::Op::from_name(name).ok_or_else(|| {
                let known: Vec<String> =
                    fault::Op::ALL.iter().map(|o| format!("'{}'", o.name())).collect();
                PyValueError::new_err(format!(
                    "unknown engine operation '{name}'; expected one of {}",
                    known.join(", ")
                ))
            })?),
        };
        let before = fault::armed().map(|o| o.name());
        fault::arm(next);
        Ok(before)
    })
}
