//! What `Pregel.invoke` makes of the chunks its stream yields, natively: the
//! latest `values` chunk and the interrupts (`stream_mode="values"`), or the
//! list of chunks (any other mode), for the v1 and v2 output formats.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;

struct Imports {
    graph_output: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        Ok(Imports {
            graph_output: py
                .import("langgraph.types")?
                .getattr("GraphOutput")?
                .unbind(),
        })
    })
}

/// Called with each chunk of an invoke's stream; `result()` is what
/// `invoke` returns.
#[pyclass(module = "langgraph_rs._native")]
pub struct InvokeOutput {
    v2: bool,
    latest: Py<PyAny>,
    /// (made at the first interrupt: an invoke that has none makes no list)
    interrupts: Option<Py<PyList>>,
    /// the chunks of a stream mode other than "values" (None for "values")
    chunks: Option<Py<PyList>>,
}

impl InvokeOutput {
    /// The interrupts list, made now if none came yet.
    fn interrupts<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyList> {
        self.interrupts.get_or_insert_with(|| PyList::empty(py).unbind()).bind(py).clone()
    }

    /// One chunk of the stream taken.
    fn push(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(chunks) = &self.chunks {
            return chunks.bind(py).append(chunk);
        }
        if self.v2 {
            self.latest = chunk.get_item(intern!(py, "data"))?.unbind();
            let ints = chunk.call_method1(
                intern!(py, "get"),
                (intern!(py, "interrupts"), PyTuple::empty(py)),
            )?;
            if ints.is_truthy()? {
                let interrupts = self.interrupts(py);
                for i in ints.try_iter()? {
                    interrupts.append(i?)?;
                }
            }
            return Ok(());
        }
        let n = chunk.len()?;
        let (mode, payload) = if n == 2 {
            (chunk.get_item(0)?, chunk.get_item(1)?)
        } else {
            (chunk.get_item(1)?, chunk.get_item(2)?)
        };
        if mode.eq(intern!(py, "updates"))? {
            if let Ok(d) = payload.cast::<PyDict>() {
                if let Some(ints) = d.get_item(intern!(py, "__interrupt__"))? {
                    if !ints.is_none() {
                        let interrupts = self.interrupts(py);
                        for i in ints.try_iter()? {
                            interrupts.append(i?)?;
                        }
                        return Ok(());
                    }
                }
            }
        }
        if mode.eq(intern!(py, "values"))? {
            self.latest = payload.unbind();
        }
        Ok(())
    }
}

#[pymethods]
impl InvokeOutput {
    #[new]
    fn new(py: Python<'_>, stream_mode: &Bound<'_, PyAny>, version: &str) -> PyResult<Self> {
        let values = stream_mode.eq(intern!(py, "values"))?;
        Ok(InvokeOutput {
            v2: version == "v2",
            latest: py.None(),
            interrupts: None,
            chunks: if values { None } else { Some(PyList::empty(py).unbind()) },
        })
    }

    fn __call__(&mut self, py: Python<'_>, chunk: &Bound<'_, PyAny>) -> PyResult<()> {
        guarded("invoke output", || self.push(py, chunk))
    }

    /// Takes every chunk `queued()` yields and returns an empty tuple: an
    /// `ainvoke`'s `astream` hands its chunks here instead of yielding them,
    /// so its generator is not resumed once per step.
    fn take<'py>(&mut self, queued: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyTuple>> {
        let py = queued.py();
        guarded("invoke output", || {
            for chunk in queued.call0()?.try_iter()? {
                self.push(py, &chunk?)?;
            }
            Ok(PyTuple::empty(py))
        })
    }

    /// The value `invoke` returns.
    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guarded("invoke output", || {
            if let Some(chunks) = &self.chunks {
                return Ok(chunks.clone_ref(py).into_any());
            }
            let interrupts = match &self.interrupts {
                Some(list) => list.bind(py).clone(),
                None => PyList::empty(py),
            };
            let latest = self.latest.bind(py);
            if self.v2 {
                let kwargs = PyDict::new(py);
                kwargs.set_item(intern!(py, "value"), latest)?;
                kwargs.set_item(intern!(py, "interrupts"), interrupts.to_tuple())?;
                return Ok(imports(py)?
                    .graph_output
                    .bind(py)
                    .call((), Some(&kwargs))?
                    .unbind());
            }
            if interrupts.is_empty() {
                return Ok(self.latest.clone_ref(py));
            }
            let out = PyDict::new(py);
            if let Ok(d) = latest.cast::<PyDict>() {
                // {**latest, INTERRUPT: interrupts}
                out.update(d.as_mapping())?;
            }
            out.set_item(intern!(py, "__interrupt__"), interrupts)?;
            Ok(out.into_any().unbind())
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.latest)?;
        if let Some(list) = &self.interrupts {
            visit.call(list)?;
        }
        if let Some(list) = &self.chunks {
            visit.call(list)?;
        }
        Ok(())
    }

    fn __clear__(&mut self, py: Python<'_>) {
        self.latest = py.None();
    }
}
