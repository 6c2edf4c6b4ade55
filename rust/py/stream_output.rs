//! What `stream`/`astream` yield: the chunks the run queued, shaped for the
//! caller's `stream_mode`, `subgraphs` and `version` — LangGraph's
//! `langgraph.pregel.main._output` as a native iterator. With a `print_mode`
//! (chunks printed as they pass) LangGraph's own generator runs.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::boundary::guarded;

struct Imports {
    output: Py<PyAny>,
    coerce: Py<PyAny>,
    interrupt: Py<PyString>,
    values: Py<PyString>,
    checkpoints: Py<PyString>,
    debug: Py<PyString>,
    type_: Py<PyString>,
    ns: Py<PyString>,
    data: Py<PyString>,
    interrupts: Py<PyString>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let main = py.import("langgraph.pregel.main")?;
        let s = |v: &str| PyString::intern(py, v).unbind();
        Ok(Imports {
            output: main.getattr(pyo3::intern!(py, "_output"))?.unbind(),
            coerce: main.getattr(pyo3::intern!(py, "_coerce_checkpoint_values"))?.unbind(),
            interrupt: s("__interrupt__"),
            values: s("values"),
            checkpoints: s("checkpoints"),
            debug: s("debug"),
            type_: s("type"),
            ns: s("ns"),
            data: s("data"),
            interrupts: s("interrupts"),
        })
    })
}

/// The chunks queued so far, each as the caller's stream shape wants it.
#[pyclass(module = "langgraph_rs._native")]
pub struct StreamChunks {
    getter: Py<PyAny>,
    empty_exc: Py<PyAny>,
    stream_mode: Py<PyAny>,
    modes_list: bool,
    subgraphs: bool,
    v2: bool,
    output_mapper: Option<Py<PyAny>>,
    state_mapper: Option<Py<PyAny>>,
}

impl StreamChunks {
    fn shape<'py>(
        &self,
        py: Python<'py>,
        im: &Imports,
        ns: Bound<'py, PyAny>,
        mode: Bound<'py, PyAny>,
        mut payload: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        if self.v2 {
            let out = PyDict::new(py);
            out.set_item(im.type_.bind(py), &mode)?;
            out.set_item(im.ns.bind(py), ns)?;
            if mode.eq(im.values.bind(py))? {
                // __interrupt__ goes to a field of its own, the data is coerced
                let mut ints = PyTuple::empty(py).into_any();
                if let Ok(d) = payload.cast::<PyDict>() {
                    let key = im.interrupt.bind(py);
                    if let Some(v) = d.get_item(key)? {
                        d.del_item(key)?;
                        ints = v;
                    }
                    if let Some(m) = &self.output_mapper {
                        payload = m.bind(py).call1((&payload,))?;
                    }
                }
                out.set_item(im.data.bind(py), payload)?;
                out.set_item(im.interrupts.bind(py), ints)?;
            } else {
                if let Some(m) = &self.state_mapper {
                    if mode.eq(im.checkpoints.bind(py))? || mode.eq(im.debug.bind(py))? {
                        im.coerce.bind(py).call1((&payload, m.bind(py)))?;
                    }
                }
                out.set_item(im.data.bind(py), payload)?;
            }
            return Ok(out.into_any());
        }
        Ok(match (self.subgraphs, self.modes_list) {
            (true, true) => PyTuple::new(py, [ns, mode, payload])?.into_any(),
            (false, true) => PyTuple::new(py, [mode, payload])?.into_any(),
            (true, false) => PyTuple::new(py, [ns, payload])?.into_any(),
            (false, false) => payload,
        })
    }
}

#[pymethods]
impl StreamChunks {
    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        guarded("stream output", || {
            let im = imports(py)?;
            let stream_mode = self.stream_mode.bind(py);
            loop {
                let item = match self.getter.bind(py).call0() {
                    Ok(item) => item,
                    Err(e) if e.is_instance(py, self.empty_exc.bind(py)) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let (ns, mode, payload): (Bound<'py, PyAny>, Bound<'py, PyAny>, Bound<'py, PyAny>) =
                    item.extract()?;
                if stream_mode.contains(&mode)? {
                    return Ok(Some(self.shape(py, im, ns, mode, payload)?));
                }
            }
        })
    }

    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.getter)?;
        visit.call(&self.empty_exc)?;
        visit.call(&self.stream_mode)?;
        if let Some(m) = &self.output_mapper {
            visit.call(m)?;
        }
        if let Some(m) = &self.state_mapper {
            visit.call(m)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.output_mapper = None;
        self.state_mapper = None;
    }
}

/// `_output(stream_mode, print_mode, subgraphs, getter, empty_exc, version,
/// output_mapper, state_mapper)`: an iterator over the queued chunks.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn stream_output<'py>(
    stream_mode: &Bound<'py, PyAny>,
    print_mode: &Bound<'py, PyAny>,
    subgraphs: bool,
    getter: &Bound<'py, PyAny>,
    empty_exc: &Bound<'py, PyAny>,
    version: &str,
    output_mapper: Option<&Bound<'py, PyAny>>,
    state_mapper: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    guarded("stream_output", || {
        let py = stream_mode.py();
        let im = imports(py)?;
        if print_mode.is_truthy()? {
            return im.output.bind(py).call1((
                stream_mode,
                print_mode,
                subgraphs,
                getter,
                empty_exc,
                version,
                output_mapper,
                state_mapper,
            ));
        }
        let chunks = StreamChunks {
            getter: getter.clone().unbind(),
            empty_exc: empty_exc.clone().unbind(),
            stream_mode: stream_mode.clone().unbind(),
            modes_list: stream_mode.is_instance_of::<PyList>(),
            subgraphs,
            v2: version == "v2",
            output_mapper: output_mapper.filter(|m| !m.is_none()).map(|m| m.clone().unbind()),
            state_mapper: state_mapper.filter(|m| !m.is_none()).map(|m| m.clone().unbind()),
        };
        Ok(Bound::new(py, chunks)?.into_any())
    })
}
