//! What a run's start builds, natively (LangGraph builds them in Python, in
//! `Pregel.stream` and `PregelLoop`): the input's writes (`map_input`), an
//! empty checkpoint, the run's `Runtime` (the merge of the parent's runtime
//! with the run's own), the loop's `StreamProtocol`, and the graph's spec
//! when it was read already.
//!
//! Each takes LangGraph's own Python for what is not the common case: an
//! input key that is not an input channel (LangGraph logs it), a context to
//! coerce, server info to read, a parent runtime that is not a `Runtime`.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::boundary::guarded;
use crate::runtime::{classes, generic_setattr, object_new};

struct Imports {
    map_input: Py<PyAny>,
    coerce_parent_runtime: Py<PyAny>,
    coerce_context: Py<PyAny>,
    build_server_info: Py<PyAny>,
    default_runtime: Py<PyAny>,
    no_op_stream_writer: Py<PyAny>,
    run_control: Py<PyAny>,
    /// `RunControl()` is `object.__new__` and `_drain_reason = None` (its
    /// only slot); else the class is called
    plain_run_control: bool,
    /// `Runtime.merge` reads the eight fields it was written for; else it is called
    plain_runtime: bool,
    key_runtime: Py<PyAny>,
    stream_protocol: Py<PyAny>,
    /// `StreamProtocol(put, modes)` sets its two slots and nothing else; else
    /// the class is called
    plain_stream_protocol: bool,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

const RUNTIME_FIELDS: [&str; 8] = [
    "context",
    "store",
    "stream_writer",
    "heartbeat",
    "previous",
    "execution_info",
    "server_info",
    "control",
];

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let main = py.import("langgraph.pregel.main")?;
        let runtime = py.import("langgraph.runtime")?;
        let run_control = runtime.getattr("RunControl")?;
        let slots = run_control.getattr("__slots__")?;
        let plain_run_control = slots
            .extract::<Vec<String>>()
            .map(|s| s == ["_drain_reason"])
            .unwrap_or(false);
        let plain_runtime = classes(py)?.runtime.field_names(py) == RUNTIME_FIELDS;
        let stream_protocol = py
            .import("langgraph.pregel.protocol")?
            .getattr("StreamProtocol")?;
        let plain_stream_protocol = stream_protocol
            .getattr("__slots__")?
            .extract::<Vec<String>>()
            .map(|s| s == ["modes", "__call__"])
            .unwrap_or(false);
        Ok(Imports {
            map_input: py
                .import("langgraph.pregel._io")?
                .getattr("map_input")?
                .unbind(),
            coerce_parent_runtime: main.getattr("_coerce_parent_runtime")?.unbind(),
            coerce_context: main.getattr("_coerce_context")?.unbind(),
            build_server_info: main.getattr("_build_server_info")?.unbind(),
            default_runtime: runtime.getattr("DEFAULT_RUNTIME")?.unbind(),
            no_op_stream_writer: runtime.getattr("_no_op_stream_writer")?.unbind(),
            run_control: run_control.unbind(),
            plain_run_control,
            plain_runtime,
            key_runtime: py
                .import("langgraph._internal._constants")?
                .getattr("CONFIG_KEY_RUNTIME")?
                .unbind(),
            stream_protocol: stream_protocol.unbind(),
            plain_stream_protocol,
        })
    })
}

/// `StreamProtocol(put, modes)`: the loop's stream.
#[pyfunction]
pub fn stream_protocol<'py>(
    put: &Bound<'py, PyAny>,
    modes: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    guarded("stream_protocol", || {
        let py = put.py();
        let im = imports(py)?;
        let cls = im.stream_protocol.bind(py);
        if !im.plain_stream_protocol {
            return cls.call1((put, modes));
        }
        let out = object_new(cls)?;
        out.setattr(intern!(py, "__call__"), put)?;
        out.setattr(intern!(py, "modes"), modes)?;
        Ok(out)
    })
}

/// `list(map_input(input_channels, chunk))`: the input's writes.
#[pyfunction]
pub fn map_input<'py>(
    input_channels: &Bound<'py, PyAny>,
    chunk: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    guarded("map_input", || {
        let py = chunk.py();
        if chunk.is_none() {
            return Ok(PyList::empty(py));
        }
        if input_channels.is_instance_of::<PyString>() {
            return PyList::new(py, [PyTuple::new(py, [input_channels, chunk])?]);
        }
        if let Ok(dict) = chunk.cast_exact::<PyDict>() {
            let out = PyList::empty(py);
            for (k, v) in dict.iter() {
                if !input_channels.contains(&k)? {
                    // LangGraph logs the key it drops: its own generator does
                    return python_map_input(input_channels, chunk);
                }
                out.append(PyTuple::new(py, [k, v])?)?;
            }
            return Ok(out);
        }
        python_map_input(input_channels, chunk)
    })
}

fn python_map_input<'py>(
    input_channels: &Bound<'py, PyAny>,
    chunk: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let py = chunk.py();
    let writes = imports(py)?
        .map_input
        .bind(py)
        .call1((input_channels, chunk))?;
    PyList::new(py, writes.try_iter()?.collect::<PyResult<Vec<_>>>()?)
}

/// LangGraph's `empty_checkpoint()` of format `version` with this `id`, its
/// timestamp made natively.
#[pyfunction]
pub fn empty_checkpoint<'py>(
    py: Python<'py>,
    version: &Bound<'py, PyAny>,
    id: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    guarded("empty_checkpoint", || {
        let out = PyDict::new(py);
        out.set_item(intern!(py, "v"), version)?;
        out.set_item(intern!(py, "id"), id)?;
        out.set_item(intern!(py, "ts"), crate::ids::now_iso()?)?;
        out.set_item(intern!(py, "channel_values"), PyDict::new(py))?;
        out.set_item(intern!(py, "channel_versions"), PyDict::new(py))?;
        out.set_item(intern!(py, "versions_seen"), PyDict::new(py))?;
        Ok(out)
    })
}

/// The run's `Runtime`, as `Pregel.stream` makes it: the parent's runtime
/// (`config["configurable"]`'s, else `DEFAULT_RUNTIME`) merged with
/// `Runtime(context=<coerced context>, store, stream_writer, previous=None,
/// execution_info=None, server_info=<from the config>, control=control or
/// the parent's or a new RunControl())`.
#[pyfunction]
pub fn run_runtime<'py>(
    config: &Bound<'py, PyDict>,
    context_schema: &Bound<'py, PyAny>,
    context: &Bound<'py, PyAny>,
    store: &Bound<'py, PyAny>,
    stream_writer: &Bound<'py, PyAny>,
    control: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    guarded("run_runtime", || {
        let py = config.py();
        let im = imports(py)?;
        let rt = classes(py)?;
        let configurable = match config.get_item(intern!(py, "configurable"))? {
            Some(c) if c.is_truthy()? => Some(c),
            _ => None,
        };
        let parent = match &configurable {
            Some(c) => match c.cast::<PyDict>()?.get_item(im.key_runtime.bind(py))? {
                Some(p) => p,
                None => im.default_runtime.bind(py).clone(),
            },
            None => im.default_runtime.bind(py).clone(),
        };
        let parent = if rt.runtime.is_instance(&parent)? {
            parent
        } else {
            im.coerce_parent_runtime.bind(py).call1((parent,))?
        };
        let context = if context.is_none() {
            context.clone()
        } else {
            im.coerce_context
                .bind(py)
                .call1((context_schema, context))?
        };
        let server_info = match &configurable {
            Some(c)
                if ["assistant_id", "graph_id", "langgraph_auth_user"]
                    .iter()
                    .map(|k| c.get_item(*k).map(|v| v.is_none()).unwrap_or(true))
                    .any(|missing| !missing) =>
            {
                im.build_server_info.bind(py).call1((config, &parent))?
            }
            _ => py.None().into_bound(py),
        };
        let control = if control.is_truthy()? {
            control.clone()
        } else {
            let own = parent.getattr(intern!(py, "control"))?;
            if own.is_truthy()? {
                own
            } else {
                new_run_control(im, py)?
            }
        };
        let own = [
            (intern!(py, "context"), context),
            (intern!(py, "store"), store.clone()),
            (intern!(py, "stream_writer"), stream_writer.clone()),
            (intern!(py, "previous"), py.None().into_bound(py)),
            (intern!(py, "execution_info"), py.None().into_bound(py)),
            (intern!(py, "server_info"), server_info),
            (intern!(py, "control"), control),
        ];
        if !im.plain_runtime {
            let own = rt.runtime.build(
                py,
                &own.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>(),
            )?;
            return parent.call_method1(intern!(py, "merge"), (own,));
        }
        // Runtime.merge(parent, own), field by field
        let or = |mine: &Bound<'py, PyAny>,
                  name: &Bound<'py, PyString>|
         -> PyResult<Bound<'py, PyAny>> {
            if mine.is_truthy()? {
                Ok(mine.clone())
            } else {
                parent.getattr(name)
            }
        };
        let [(k_context, context), (k_store, store), (k_writer, writer), _, _, (k_server, server_info), (k_control, control)] =
            own;
        let writer = if writer.is(im.no_op_stream_writer.bind(py)) {
            parent.getattr(k_writer)?
        } else {
            writer
        };
        rt.runtime.build(
            py,
            &[
                (k_context, or(&context, k_context)?),
                (k_store, or(&store, k_store)?),
                (k_writer, writer),
                (
                    intern!(py, "heartbeat"),
                    parent.getattr(intern!(py, "heartbeat"))?,
                ),
                (
                    intern!(py, "previous"),
                    parent.getattr(intern!(py, "previous"))?,
                ),
                (
                    intern!(py, "execution_info"),
                    parent.getattr(intern!(py, "execution_info"))?,
                ),
                (k_server, or(&server_info, k_server)?),
                (k_control, or(&control, k_control)?),
            ],
        )
    })
}

fn new_run_control<'py>(im: &Imports, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    let cls = im.run_control.bind(py);
    if !im.plain_run_control {
        return cls.call0();
    }
    let control = object_new(cls)?;
    generic_setattr(
        &control,
        intern!(py, "_drain_reason"),
        &py.None().into_bound(py),
    )?;
    Ok(control)
}

/// The graph's spec when it was read already and still describes the graph
/// (its channels and nodes mappings are the same objects, of the same
/// sizes), else None: `_spec.spec_for` reads the graph again.
#[pyfunction]
pub fn cached_spec<'py>(graph: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    guarded("cached_spec", || {
        let py = graph.py();
        let Ok(d) = graph.getattr(intern!(py, "__dict__")) else {
            return Ok(None);
        };
        let Ok(d) = d.cast_into::<PyDict>() else {
            return Ok(None);
        };
        let Some(spec) = d.get_item(intern!(py, "_langgraph_rs_spec"))? else {
            return Ok(None);
        };
        if spec.is_none() {
            return Ok(None);
        }
        let channels = graph.getattr(intern!(py, "channels"))?;
        let nodes = graph.getattr(intern!(py, "nodes"))?;
        let fits = spec.getattr(intern!(py, "channels_obj"))?.is(&channels)
            && spec.getattr(intern!(py, "nodes_obj"))?.is(&nodes)
            && spec
                .getattr(intern!(py, "n_channels"))?
                .extract::<usize>()?
                == channels.len()?
            && spec.getattr(intern!(py, "n_nodes"))?.extract::<usize>()? == nodes.len()?;
        Ok(fits.then_some(spec))
    })
}
