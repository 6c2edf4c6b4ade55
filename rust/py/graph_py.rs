//! The compiled graph as the core holds it (`Graph`): its topology plus the
//! Python pieces of its channels (reducers, initial values, delta specs), read
//! once per graph, and the Python objects the state needs (`Imports`).

use std::collections::{BTreeSet, HashMap};

use crate::boundary::guarded;

use langgraph_rs_core as core;
use core::{Kind, Managed};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

/// Python objects the binding needs, imported once per graph.
pub(crate) struct Imports {
    pub(crate) overwrite_cls: Py<PyAny>,
    pub(crate) send_cls: Py<PyAny>,
    pub(crate) missing: Py<PyAny>,
    pub(crate) invalid_update: Py<PyAny>,
    pub(crate) empty_channel: Py<PyAny>,
    pub(crate) create_error_message: Py<PyAny>,
    pub(crate) concurrent_code: Py<PyAny>,
    pub(crate) logger: Py<PyAny>,
    pub(crate) copy: Py<PyAny>,
    pub(crate) delta_snapshot: Py<PyAny>,
}

impl Imports {
    fn load(py: Python<'_>) -> PyResult<Imports> {
        let types = py.import("langgraph.types")?;
        let errors = py.import("langgraph.errors")?;
        let typing = py.import("langgraph._internal._typing")?;
        let logging = py.import("logging")?;
        Ok(Imports {
            overwrite_cls: types.getattr(pyo3::intern!(py, "Overwrite"))?.unbind(),
            send_cls: types.getattr(pyo3::intern!(py, "Send"))?.unbind(),
            missing: typing.getattr(pyo3::intern!(py, "MISSING"))?.unbind(),
            invalid_update: errors.getattr(pyo3::intern!(py, "InvalidUpdateError"))?.unbind(),
            empty_channel: errors.getattr(pyo3::intern!(py, "EmptyChannelError"))?.unbind(),
            create_error_message: errors.getattr(pyo3::intern!(py, "create_error_message"))?.unbind(),
            concurrent_code: errors
                .getattr(pyo3::intern!(py, "ErrorCode"))?
                .getattr(pyo3::intern!(py, "INVALID_CONCURRENT_GRAPH_UPDATE"))?
                .unbind(),
            logger: logging.call_method1(pyo3::intern!(py, "getLogger"), ("langgraph",))?.unbind(),
            copy: py.import("copy")?.getattr(pyo3::intern!(py, "copy"))?.unbind(),
            delta_snapshot: py
                .import("langgraph.checkpoint.serde.types")?
                .getattr(pyo3::intern!(py, "_DeltaSnapshot"))?
                .unbind(),
        })
    }
}

/// The compiled graph: topology plus the Python pieces of its channels.
#[pyclass(frozen, module = "langgraph_rs._native")]
pub(crate) struct Graph {
    pub(crate) inner: core::Graph,
    /// Reducers of BinaryOperatorAggregate channels, by `Kind::BinOp.op`.
    pub(crate) reducers: Vec<Py<PyAny>>,
    /// (channel, factory of its initial value) for BinaryOperatorAggregate.
    pub(crate) binop_init: Vec<(usize, Py<PyAny>)>,
    /// The `DeltaChannel` specs, by `Kind::Delta.op`.
    pub(crate) deltas: Vec<Py<PyAny>>,
    /// The channel names as Python strings (interned), by channel index: the
    /// keys of a checkpoint's values and of a step's updated channels.
    pub(crate) names: Vec<Py<pyo3::types::PyString>>,
    /// Per node, by node index: its name (interned), and the `path` and
    /// `triggers` tuples of its PULL tasks (the same every step).
    pub(crate) pulls: Vec<NodePull>,
    pub(crate) imports: Imports,
}

pub(crate) struct NodePull {
    pub(crate) name: Py<PyString>,
    pub(crate) path: Py<PyTuple>,
    pub(crate) triggers: Py<PyTuple>,
}

pub(crate) fn kind_of(
    kind: &str,
    arg: &Bound<'_, PyAny>,
    reducers: &mut Vec<Py<PyAny>>,
    deltas: &mut Vec<Py<PyAny>>,
) -> PyResult<(Kind, Option<Py<PyAny>>)> {
    let names = |a: &Bound<'_, PyAny>| -> PyResult<BTreeSet<String>> {
        a.try_iter()?.map(|x| x?.extract::<String>()).collect()
    };
    Ok(match kind {
        "last_value" => (Kind::LastValue, None),
        "last_value_after_finish" => (Kind::LastValueAfterFinish, None),
        "any_value" => (Kind::AnyValue, None),
        "ephemeral" => (Kind::Ephemeral { guard: arg.is_truthy()? }, None),
        "untracked" => (Kind::Untracked { guard: arg.is_truthy()? }, None),
        "topic" => (Kind::Topic { accumulate: arg.is_truthy()? }, None),
        "binop" => {
            let (op, init): (Py<PyAny>, Py<PyAny>) = arg.extract()?;
            reducers.push(op);
            (Kind::BinOp { op: reducers.len() - 1 }, Some(init))
        }
        "delta" => {
            deltas.push(arg.clone().unbind());
            (Kind::Delta { op: deltas.len() - 1 }, None)
        }
        "named_barrier" => (Kind::NamedBarrier { names: names(arg)? }, None),
        "named_barrier_after_finish" => {
            (Kind::NamedBarrierAfterFinish { names: names(arg)? }, None)
        }
        other => {
            return Err(PyValueError::new_err(format!("unknown channel kind {other:?}")));
        }
    })
}

#[pymethods]
impl Graph {
    #[new]
    #[pyo3(signature = (channels, nodes, managed, error_keys=HashMap::new()))]
    fn new(
        py: Python<'_>,
        channels: Vec<(String, String, Bound<'_, PyAny>)>,
        nodes: Vec<(String, Vec<String>, Bound<'_, PyAny>)>,
        managed: HashMap<String, String>,
        error_keys: HashMap<String, String>,
    ) -> PyResult<Graph> {
        guarded("Graph()", || {
            let mut reducers = Vec::new();
            let mut deltas = Vec::new();
            let mut binop_init = Vec::new();
            let mut chans = Vec::with_capacity(channels.len());
            for (i, (name, kind, arg)) in channels.into_iter().enumerate() {
                let (k, init) = kind_of(&kind, &arg, &mut reducers, &mut deltas)?;
                if let Some(init) = init {
                    binop_init.push((i, init));
                }
                chans.push((name, k));
            }
            let mut managed_kinds = HashMap::new();
            for (name, kind) in managed {
                let m = match kind.as_str() {
                    "is_last_step" => Managed::IsLastStep,
                    "remaining_steps" => Managed::RemainingSteps,
                    other => {
                        return Err(PyValueError::new_err(format!("unknown managed kind {other:?}")))
                    }
                };
                managed_kinds.insert(name, m);
            }
            let mut node_specs = Vec::with_capacity(nodes.len());
            for (name, triggers, read) in nodes {
                let read = if let Ok(s) = read.downcast::<PyString>() {
                    Ok(s.to_str()?.to_string())
                } else {
                    Err(read.extract::<Vec<String>>()?)
                };
                node_specs.push((name, triggers, read));
            }
            let mut inner = core::Graph::new(chans, node_specs, &managed_kinds)
                .map_err(|e| PyValueError::new_err(format!("invalid graph: {e:?}")))?;
            for (name, key) in error_keys {
                if !inner.set_error_key(&name, key) {
                    return Err(PyValueError::new_err(format!("unknown channel {name:?}")));
                }
            }
            let names = inner.channels.iter().map(|(n, _)| pyo3::types::PyString::intern(py, n).unbind()).collect();
            let pulls = inner
                .nodes
                .iter()
                .map(|n| {
                    let name = PyString::intern(py, &n.name);
                    let (path, triggers) = pull_path(py, &name, &n.sorted_triggers)?;
                    Ok(NodePull { name: name.unbind(), path: path.unbind(), triggers: triggers.unbind() })
                })
                .collect::<PyResult<Vec<_>>>()?;
            Ok(Graph { inner, reducers, binop_init, deltas, names, pulls, imports: Imports::load(py)? })
        })
    }

    fn trigger_to_nodes(&self) -> PyResult<HashMap<String, Vec<String>>> {
        guarded("trigger_to_nodes", || {
            let g = &self.inner;
            Ok(g.trigger_to_nodes
                .iter()
                .enumerate()
                .filter(|(_, ns)| !ns.is_empty())
                .map(|(c, ns)| {
                    (g.channels[c].0.clone(), ns.iter().map(|n| g.nodes[*n].name.clone()).collect())
                })
                .collect())
        })
    }

    #[getter]
    fn channel_names(&self) -> PyResult<Vec<String>> {
        guarded("channel_names", || {
            Ok(self.inner.channels.iter().map(|(n, _)| n.clone()).collect())
        })
    }

    #[getter]
    fn node_names(&self) -> PyResult<Vec<String>> {
        guarded("node_names", || {
            Ok(self.inner.nodes.iter().map(|n| n.name.clone()).collect())
        })
    }
}

/// The path and triggers of a PULL task: `("__pregel_pull", name)`, sorted triggers.
fn pull_path<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyString>,
    triggers: &[String],
) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyTuple>)> {
    let path = PyTuple::new(py, [PyString::new(py, core::state::PULL).into_any(), name.clone().into_any()])?;
    Ok((path, PyTuple::new(py, triggers.iter())?))
}
