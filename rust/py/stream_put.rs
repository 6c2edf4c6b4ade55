//! The stream `put` of an async run whose stream is not eager: a chunk goes
//! on the run's `asyncio` queue, directly from the event loop's thread, else
//! through `call_soon_threadsafe` (a sync node's worker thread).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;

static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// `asyncio._get_running_loop` (None outside a running loop, no exception).
pub(crate) fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || Ok::<_, PyErr>(py.import("asyncio")?.getattr("_get_running_loop")?.unbind()))?
        .bind(py)
        .call0()
}

#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct LoopPut {
    put_nowait: Py<PyAny>,
    aioloop: Py<PyAny>,
}

#[pymethods]
impl LoopPut {
    #[new]
    fn new(put_nowait: Py<PyAny>, aioloop: Py<PyAny>) -> Self {
        LoopPut { put_nowait, aioloop }
    }

    fn __call__(&self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        guarded("stream put", || {
            if running_loop(py)?.is(self.aioloop.bind(py)) {
                self.put_nowait.bind(py).call1((chunk,))?;
            } else {
                self.aioloop
                    .bind(py)
                    .call_method1(intern!(py, "call_soon_threadsafe"), (&self.put_nowait, chunk))?;
            }
            Ok(())
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.put_nowait)?;
        visit.call(&self.aioloop)
    }
}
