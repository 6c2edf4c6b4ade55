//! A run's channels and versions (`State`): the core's state machine behind a
//! lock, with the `Host` it calls back into (reducers, `Overwrite`/`Send`,
//! next versions) and the conversions between its values and LangGraph's
//! (checkpoints, versions, managed values, errors).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::boundary::guarded;

use langgraph_rs_core as core;
use core::{Got, Kind, Managed, ManagedValue, PlanInput, PregelError, ReadVal, Version};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyList, PySet, PyString, PyTuple};

use crate::V;
use crate::graph_py::Graph;

/// The `Host` the core calls back into.
pub(crate) struct PyHost<'a, 'py> {
    pub(crate) py: Python<'py>,
    pub(crate) graph: &'a Graph,
    pub(crate) next_version: Option<&'a Py<PyAny>>,
    /// The tasks of the current `apply_writes`, for warnings.
    pub(crate) tasks: Option<&'a [TaskRef<'py>]>,
}

impl core::Host<V> for PyHost<'_, '_> {
    type Error = PyErr;

    fn reduce(&mut self, op: usize, acc: V, value: V) -> PyResult<V> {
        Ok(self.graph.reducers[op].bind(self.py).call1((acc, value))?.unbind())
    }

    fn delta_reduce(&mut self, op: usize, base: Option<V>, values: Vec<V>) -> PyResult<V> {
        let spec = self.graph.deltas[op].bind(self.py);
        let base = match base {
            Some(b) => b,
            None => spec.getattr(pyo3::intern!(self.py, "typ"))?.call0()?.unbind(),
        };
        let list = PyList::new(self.py, values.iter().map(|v| v.bind(self.py)))?;
        Ok(spec.getattr(pyo3::intern!(self.py, "reducer"))?.call1((base, list))?.unbind())
    }

    fn delta_reset(&mut self, op: usize, value: V) -> PyResult<V> {
        let spec = self.graph.deltas[op].bind(self.py);
        if value.is_none(self.py) {
            return Ok(spec.getattr(pyo3::intern!(self.py, "typ"))?.call0()?.unbind());
        }
        Ok(self.graph.imports.copy.bind(self.py).call1((value,))?.unbind())
    }

    fn overwrite(&mut self, value: &V) -> PyResult<Option<V>> {
        let v = value.bind(self.py);
        if v.is_instance(self.graph.imports.overwrite_cls.bind(self.py))? {
            return Ok(Some(v.getattr(pyo3::intern!(self.py, "value"))?.unbind()));
        }
        if let Ok(d) = v.downcast::<PyDict>() {
            if d.len() == 1 {
                if let Some(x) = d.get_item(pyo3::intern!(self.py, "__overwrite__"))? {
                    return Ok(Some(x.unbind()));
                }
            }
            if let Some(t) = d.get_item(pyo3::intern!(self.py, "type"))? {
                if t.eq("__overwrite__")? {
                    if let Some(x) = d.get_item(pyo3::intern!(self.py, "value"))? {
                        return Ok(Some(x.unbind()));
                    }
                }
            }
        }
        Ok(None)
    }

    fn flatten(&mut self, value: V) -> PyResult<Vec<V>> {
        let v = value.bind(self.py);
        if let Ok(l) = v.downcast::<PyList>() {
            return Ok(l.iter().map(|x| x.unbind()).collect());
        }
        Ok(vec![value])
    }

    fn name_of(&mut self, value: &V) -> PyResult<Option<String>> {
        Ok(value.bind(self.py).downcast::<PyString>().ok().map(|s| s.to_string()))
    }

    fn barrier_error(&mut self, key: &str, value: &V, names: &BTreeSet<String>) -> String {
        let set = PySet::new(self.py, names.iter()).map(|s| s.to_string()).unwrap_or_default();
        let v = value.bind(self.py).str().map(|s| s.to_string()).unwrap_or_default();
        format!("At key '{key}': Value {v} not in {set}")
    }

    fn next_version(&mut self, current: Option<&Version>) -> PyResult<Version> {
        match self.next_version {
            None => Ok(match current {
                Some(Version::Int(i)) => Version::Int(i + 1),
                None => Version::Int(1),
                Some(Version::Str(_)) => {
                    return Err(PyTypeError::new_err("string versions need a checkpointer"))
                }
            }),
            Some(f) => {
                let cur = match current {
                    Some(v) => version_to_py(self.py, v)?,
                    None => self.py.None(),
                };
                version_from_py(&f.bind(self.py).call1((cur, self.py.None()))?)
            }
        }
    }

    fn unknown_channel(&mut self, task: usize, channel: &str) {
        let (name, path) = match self.tasks.and_then(|t| t.get(task)) {
            Some(t) => (
                t.name.str().map(|s| s.to_string()).unwrap_or_default(),
                t.path.str().map(|s| s.to_string()).unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        };
        self.warn(&format!(
            "Task {name} with path {path} wrote to unknown channel {channel}, ignoring it."
        ));
    }

    fn send_node(&mut self, value: &V) -> PyResult<Option<String>> {
        let v = value.bind(self.py);
        if v.is_instance(self.graph.imports.send_cls.bind(self.py))? {
            return Ok(Some(v.getattr(pyo3::intern!(self.py, "node"))?.extract()?));
        }
        Ok(None)
    }

    fn warn_invalid_packet(&mut self, value: &V) {
        let t = value.bind(self.py).get_type().str().map(|s| s.to_string()).unwrap_or_default();
        self.warn(&format!("Ignoring invalid packet type {t} in pending sends"));
    }

    fn warn(&mut self, message: &str) {
        let _ = self.graph.imports.logger.bind(self.py).call_method1(pyo3::intern!(self.py, "warning"), (message,));
    }
}

pub(crate) fn version_from_py(v: &Bound<'_, PyAny>) -> PyResult<Version> {
    if v.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err("channel versions must be int or str"));
    }
    if let Ok(i) = v.downcast::<PyInt>() {
        return Ok(Version::Int(i.extract()?));
    }
    if let Ok(s) = v.downcast::<PyString>() {
        return Ok(Version::Str(s.to_str()?.into()));
    }
    Err(PyTypeError::new_err(format!(
        "langgraph_rs supports int and str channel versions, got {}",
        v.get_type().name()?
    )))
}

use crate::versions_py::version_to_py;

pub(crate) fn map_err(py: Python<'_>, graph: &Graph, e: PregelError<PyErr>) -> PyErr {
    match e {
        PregelError::Host(e) => e,
        PregelError::InvalidUpdate { message, concurrent } => {
            let imp = &graph.imports;
            let msg: PyResult<Py<PyAny>> = if concurrent {
                let kw = PyDict::new(py);
                let built = kw
                    .set_item(pyo3::intern!(py, "message"), &message)
                    .and_then(|_| kw.set_item(pyo3::intern!(py, "error_code"), imp.concurrent_code.bind(py)))
                    .and_then(|_| imp.create_error_message.bind(py).call((), Some(&kw)));
                built.map(|m| m.unbind())
            } else {
                Ok(PyString::new(py, &message).into_any().unbind())
            };
            match msg.and_then(|m| imp.invalid_update.bind(py).call1((m,))) {
                Ok(exc) => PyErr::from_value(exc),
                Err(err) => err,
            }
        }
        PregelError::EmptyChannel => match graph.imports.empty_channel.bind(py).call0() {
            Ok(exc) => PyErr::from_value(exc),
            Err(err) => err,
        },
        PregelError::UnknownChannel(name) => pyo3::exceptions::PyKeyError::new_err(name),
    }
}

pub(crate) fn got_to_py(py: Python<'_>, got: Got<'_, V>) -> PyResult<Py<PyAny>> {
    Ok(match got {
        Got::Value(v) => v.clone_ref(py),
        Got::List(vs) => PyList::new(py, vs.iter().map(|v| v.bind(py)))?.into_any().unbind(),
        Got::Unit => py.None(),
    })
}

pub(crate) fn managed_to_py(py: Python<'_>, m: ManagedValue) -> PyResult<Py<PyAny>> {
    Ok(match m {
        ManagedValue::Bool(b) => PyBool::new(py, b).to_owned().into_any().unbind(),
        ManagedValue::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
    })
}

/// A `(channel, value)` write from any 2-item sequence.
pub(crate) fn pair(w: &Bound<'_, PyAny>) -> PyResult<(String, Py<PyAny>)> {
    if let Ok(t) = w.cast::<PyTuple>() {
        if t.len() == 2 {
            // (the usual write: a tuple, read without the sequence protocol)
            return Ok((t.get_borrowed_item(0)?.extract()?, t.get_item(1)?.unbind()));
        }
    }
    Ok((w.get_item(0)?.extract()?, w.get_item(1)?.unbind()))
}

/// `[f(x) for x in items]`: tuples and lists read by index, anything else
/// iterated.
fn collect_items<'py, T>(
    items: &Bound<'py, PyAny>,
    mut f: impl FnMut(&Bound<'py, PyAny>) -> PyResult<T>,
) -> PyResult<Vec<T>> {
    if let Ok(t) = items.cast::<PyTuple>() {
        return t.iter().map(|x| f(&x)).collect();
    }
    if let Ok(l) = items.cast::<PyList>() {
        return l.iter().map(|x| f(&x)).collect();
    }
    items.try_iter()?.map(|x| f(&x?)).collect()
}

/// `_algo.task_path_str`.
pub(crate) fn task_path_str(p: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(t) = p.downcast::<PyTuple>() {
        let parts: PyResult<Vec<String>> = t.iter().map(|x| task_path_str(&x)).collect();
        return Ok(format!("~{}", parts?.join(", ")));
    }
    if let Ok(l) = p.downcast::<PyList>() {
        let parts: PyResult<Vec<String>> = l.iter().map(|x| task_path_str(&x)).collect();
        return Ok(format!("~{}", parts?.join(", ")));
    }
    if p.is_instance_of::<PyInt>() {
        let i: i64 = p.extract()?;
        return Ok(format!("{i:010}"));
    }
    Ok(p.str()?.to_string())
}

/// Where `State.read` takes its values from.
pub(crate) enum ReadFrom<'a> {
    /// The run state itself, locked (no Python code runs while reading it).
    State(MutexGuard<'a, core::State<V>>),
    /// Copies of the selected channels, for a fresh read.
    Copies(HashMap<usize, core::Channel<V>>),
}

/// The graph's indices of the channels named in `names` (a sequence of
/// `str`; names the graph lacks are skipped).
fn channel_indices(g: &Graph, names: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    if names.is_instance_of::<PyString>() {
        return Err(pyo3::exceptions::PyTypeError::new_err("Can't extract `str` to `Vec`"));
    }
    let index = |name: &Bound<'_, PyAny>| -> PyResult<Option<usize>> {
        Ok(match name.cast::<PyString>() {
            Ok(s) => g.inner.channel_index.get(s.to_str()?).copied(),
            Err(_) => g.inner.channel_index.get(&name.extract::<String>()?).copied(),
        })
    };
    let mut out = Vec::new();
    if let Ok(list) = names.cast::<PyList>() {
        for name in list.iter() {
            out.extend(index(&name)?);
        }
    } else {
        for name in names.try_iter()? {
            out.extend(index(&name?)?);
        }
    }
    Ok(out)
}

/// A task as `apply_writes` reads it: its name, path, triggers and writes.
pub(crate) struct TaskRef<'py> {
    pub(crate) name: Bound<'py, PyAny>,
    pub(crate) path: Bound<'py, PyAny>,
    pub(crate) triggers: Bound<'py, PyAny>,
    pub(crate) writes: Bound<'py, PyAny>,
}

/// The Pregel state of one run.
#[pyclass(module = "langgraph_rs._native")]
pub(crate) struct State {
    pub(crate) graph: Py<Graph>,
    pub(crate) next_version: Option<Py<PyAny>>,
    pub(crate) inner: Mutex<core::State<V>>,
    /// the versions dicts of the last checkpoint (strings and ints only: no
    /// reference cycle can pass through them)
    pub(crate) kept: Mutex<crate::versions_py::KeptVersions>,
}

impl State {
    /// `apply_writes` of a step's tasks: the names of the channels it
    /// updated (the graph's interned strings).
    pub(crate) fn apply(&self, py: Python<'_>, tasks: &[TaskRef<'_>]) -> PyResult<Py<PyList>> {
        self.apply_with(py, tasks, true)
    }

    /// `apply` with `versioned=false`: LangGraph's `apply_writes` with no
    /// `get_next_version` (a state snapshot's pending writes).
    pub(crate) fn apply_with(
        &self,
        py: Python<'_>,
        tasks: &[TaskRef<'_>],
        versioned: bool,
    ) -> PyResult<Py<PyList>> {
        guarded("apply_writes", || {
            let g = self.graph.get();
            let mut tw = Vec::with_capacity(tasks.len());
            // the sort key orders the tasks: one task needs none
            let sorted = tasks.len() > 1;
            for t in tasks {
                let name: String = t.name.extract()?;
                let sort_key = if sorted { task_path_str(&t.path)? } else { String::new() };
                let triggers = collect_items(&t.triggers, |x| x.extract::<String>())?;
                let writes = collect_items(&t.writes, pair)?;
                tw.push(core::TaskWrites { name, sort_key, triggers, writes });
            }
            let mut st = self.lock(py)?;
            let mut host = PyHost { py, graph: g, next_version: self.next_version.as_ref(), tasks: Some(tasks) };
            let updated = if versioned {
                st.apply_writes(&g.inner, tw, &mut host)
            } else {
                st.apply_writes_unversioned(&g.inner, tw, &mut host)
            }
            .map_err(|e| map_err(py, g, e))?;
            let out = PyList::empty(py);
            for c in updated {
                out.append(g.names[c].bind(py))?;
            }
            Ok(out.unbind())
        })
    }

    /// The run state, locked. Never blocks while holding the GIL: the thread
    /// holding the lock may be running Python code (a reducer, the saver's
    /// `get_next_version`) and need the GIL to finish — waiting for the lock
    /// with the GIL held would deadlock both (parallel tasks' routers read the
    /// state at once).
    fn lock(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, core::State<V>>> {
        loop {
            match self.inner.try_lock() {
                Ok(guard) => return Ok(guard),
                Err(TryLockError::Poisoned(_)) => return Err(crate::boundary::poisoned()),
                Err(TryLockError::WouldBlock) => {
                    // wait for the holder with the GIL released, then try again
                    let inner = &self.inner;
                    py.detach(|| drop(inner.lock()));
                }
            }
        }
    }

    fn index(&self, graph: &Graph, name: &str) -> PyResult<usize> {
        graph
            .inner
            .channel_index
            .get(name)
            .copied()
            .ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(name.to_string()))
    }
}

pub(crate) fn restore_channel(
    py: Python<'_>,
    graph: &Graph,
    kind: &Kind,
    ch: &mut core::Channel<V>,
    cv: &Bound<'_, PyAny>,
) -> PyResult<()> {
    match kind {
        // (a BinaryOperatorAggregate of a thread written while it was a
        // DeltaChannel reads its snapshots too)
        Kind::Delta { .. } | Kind::BinOp { .. } => {
            ch.value = Some(if cv.is_instance(graph.imports.delta_snapshot.bind(py))? {
                cv.getattr(pyo3::intern!(py, "value"))?.unbind()
            } else {
                cv.clone().unbind()
            });
        }
        Kind::LastValue | Kind::AnyValue | Kind::Ephemeral { .. } => {
            ch.value = Some(cv.clone().unbind());
        }
        Kind::Untracked { .. } => {}
        Kind::LastValueAfterFinish => {
            let v = cv.get_item(0)?.unbind();
            let f: bool = cv.get_item(1)?.is_truthy()?;
            ch.value = Some(v);
            ch.finished = f;
        }
        Kind::Topic { .. } => {
            let items = if let Ok(t) = cv.downcast::<PyTuple>() { t.get_item(1)? } else { cv.clone() };
            ch.values = items.try_iter()?.map(|x| x.map(|x| x.unbind())).collect::<PyResult<_>>()?;
        }
        Kind::NamedBarrier { .. } => {
            ch.seen = cv.try_iter()?.map(|x| x?.extract::<String>()).collect::<PyResult<_>>()?;
        }
        Kind::NamedBarrierAfterFinish { .. } => {
            let s = cv.get_item(0)?;
            let f: bool = cv.get_item(1)?.is_truthy()?;
            ch.seen = s.try_iter()?.map(|x| x?.extract::<String>()).collect::<PyResult<_>>()?;
            ch.finished = f;
        }
    }
    Ok(())
}

pub(crate) fn checkpoint_value(py: Python<'_>, kind: &Kind, ch: &core::Channel<V>) -> PyResult<Option<Py<PyAny>>> {
    let names = |s: &BTreeSet<String>| -> PyResult<Py<PyAny>> {
        Ok(PySet::new(py, s.iter())?.into_any().unbind())
    };
    Ok(match kind {
        Kind::LastValue | Kind::AnyValue | Kind::Ephemeral { .. } | Kind::BinOp { .. } => {
            ch.value.as_ref().map(|v| v.clone_ref(py))
        }
        Kind::Untracked { .. } | Kind::Delta { .. } => None,
        Kind::LastValueAfterFinish => match &ch.value {
            None => None,
            Some(v) => Some(
                PyTuple::new(py, [v.clone_ref(py), PyBool::new(py, ch.finished).to_owned().into_any().unbind()])?
                    .into_any()
                    .unbind(),
            ),
        },
        Kind::Topic { .. } => {
            Some(PyList::new(py, ch.values.iter().map(|v| v.bind(py)))?.into_any().unbind())
        }
        Kind::NamedBarrier { .. } => Some(names(&ch.seen)?),
        Kind::NamedBarrierAfterFinish { .. } => Some(
            PyTuple::new(py, [names(&ch.seen)?, PyBool::new(py, ch.finished).to_owned().into_any().unbind()])?
                .into_any()
                .unbind(),
        ),
    })
}

#[pymethods]
impl State {
    #[new]
    #[pyo3(signature = (graph, checkpoint, next_version))]
    fn new(
        py: Python<'_>,
        graph: Py<Graph>,
        checkpoint: Option<Bound<'_, PyAny>>,
        next_version: Option<Py<PyAny>>,
    ) -> PyResult<State> {
        guarded("State()", || {
            let g = graph.get();
            let mut st = core::State::new(&g.inner);
            let missing = g.imports.missing.bind(py);
            let mut values: Option<Bound<'_, PyAny>> = None;
            if let Some(cp) = &checkpoint {
                let cv = cp.get_item(pyo3::intern!(py, "channel_values"))?;
                let versions = versions_from_dict(cp.get_item(pyo3::intern!(py, "channel_versions"))?.downcast::<PyDict>()?)?;
                let seen = seen_from_dict(cp.get_item(pyo3::intern!(py, "versions_seen"))?.downcast::<PyDict>()?)?;
                st.restore_versions(&g.inner, versions, seen);
                values = Some(cv);
            }
            let cv_dict = match &values {
                Some(v) => Some(v.downcast::<PyDict>()?.clone()),
                None => None,
            };
            for (c, (name, kind)) in g.inner.channels.iter().enumerate() {
                let got = match &cv_dict {
                    Some(d) => d.get_item(name)?,
                    None => None,
                };
                match got {
                    Some(v) if !v.is(missing) => restore_channel(py, g, kind, &mut st.channels[c], &v)?,
                    _ => {}
                }
            }
            for (c, (_, kind)) in g.inner.channels.iter().enumerate() {
                if let Kind::Delta { op } = kind {
                    if st.channels[c].value.is_none() {
                        st.channels[c].value =
                            Some(g.deltas[*op].bind(py).getattr(pyo3::intern!(py, "typ"))?.call0()?.unbind());
                    }
                }
            }
            for (c, init) in &g.binop_init {
                if st.channels[*c].value.is_none() {
                    let v = init.bind(py).call0()?;
                    if !v.is(missing) {
                        st.channels[*c].value = Some(v.unbind());
                    }
                }
            }
            st.reindex(&g.inner);
            Ok(State { graph, next_version, inner: Mutex::new(st), kept: Mutex::default() })
        })
    }

    fn copy(&self, py: Python<'_>) -> PyResult<State> {
        guarded("copy", || {
            let st = self.lock(py)?.clone();
            Ok(State {
                graph: self.graph.clone_ref(py),
                next_version: self.next_version.as_ref().map(|f| f.clone_ref(py)),
                inner: Mutex::new(st),
                kept: Mutex::default(),
            })
        })
    }

    fn is_available(&self, py: Python<'_>, channel: &str) -> PyResult<bool> {
        guarded("is_available", || {
            let g = self.graph.get();
            let c = self.index(g, channel)?;
            Ok(self.lock(py)?.is_available(&g.inner, c))
        })
    }

    fn get(&self, py: Python<'_>, channel: &str) -> PyResult<Py<PyAny>> {
        guarded("get", || {
            let g = self.graph.get();
            let c = self.index(g, channel)?;
            let st = self.lock(py)?;
            match st.get(&g.inner, c) {
                Some(got) => got_to_py(py, got),
                None => Err(map_err(py, g, PregelError::EmptyChannel)),
            }
        })
    }

    /// `read_channels(channels, keys)` for a run's output: one channel's value
    /// (None when it is empty), or the non-empty ones of several by name.
    fn read_output(&self, py: Python<'_>, keys: Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        if let Ok(name) = keys.cast::<PyString>() {
            let name = name.to_str()?;
            return if self.is_available(py, name)? { self.get(py, name) } else { Ok(py.None()) };
        }
        self.read(py, keys, None, 0, 0)
    }

    #[pyo3(signature = (select, writes=None, step=0, stop=0))]
    fn read(
        &self,
        py: Python<'_>,
        select: Bound<'_, PyAny>,
        writes: Option<Bound<'_, PyAny>>,
        step: i64,
        stop: i64,
    ) -> PyResult<Py<PyAny>> {
        guarded("read", || {
            let g = self.graph.get();
            let mut host = PyHost { py, graph: g, next_version: None, tasks: None };
            // writes to the selected channels, grouped
            let mut fresh: HashMap<usize, Vec<V>> = HashMap::new();
            let single = select.downcast::<PyString>().ok().map(|s| s.to_string());
            let names: Vec<String> = match &single {
                Some(s) => vec![s.clone()],
                None => select.extract()?,
            };
            if let Some(ws) = &writes {
                for w in ws.try_iter()? {
                    let (c, v) = pair(&w?)?;
                    if names.contains(&c) {
                        if let Some(&i) = g.inner.channel_index.get(&c) {
                            fresh.entry(i).or_default().push(v);
                        }
                    }
                }
            }
            // A fresh read applies the writes to copies of the selected channels,
            // taken under the lock; the reducers (Python) then run without it.
            let source = if writes.is_some() {
                let st = self.lock(py)?;
                let copies: HashMap<usize, core::Channel<V>> = names
                    .iter()
                    .filter_map(|n| g.inner.channel_index.get(n))
                    .map(|&c| (c, st.channels[c].clone()))
                    .collect();
                ReadFrom::Copies(copies)
            } else {
                ReadFrom::State(self.lock(py)?)
            };
            let read_one = |c: usize, host: &mut PyHost<'_, '_>| -> PyResult<Option<Py<PyAny>>> {
                let got = match &source {
                    ReadFrom::Copies(copies) => {
                        let (key, kind) = (&g.inner.error_keys[c], &g.inner.channels[c].1);
                        let mut ch = copies[&c].clone();
                        let values = fresh.get(&c).cloned().unwrap_or_default();
                        ch.update(kind, key, values, host).map_err(|e| map_err(py, g, e))?;
                        return ch.get(kind).map(|got| got_to_py(py, got)).transpose();
                    }
                    ReadFrom::State(st) => st.get(&g.inner, c),
                };
                got.map(|got| got_to_py(py, got)).transpose()
            };
            if let Some(name) = single {
                let c = self.index(g, &name)?;
                return match read_one(c, &mut host)? {
                    Some(v) => Ok(v),
                    None => Err(map_err(py, g, PregelError::EmptyChannel)),
                };
            }
            let out = PyDict::new(py);
            for name in names {
                if let Some(&c) = g.inner.channel_index.get(&name) {
                    if let Some(v) = read_one(c, &mut host)? {
                        out.set_item(&name, v)?;
                    }
                } else if let Some(m) = managed_kind(g, &name) {
                    out.set_item(&name, managed_to_py(py, m.value(step, stop))?)?;
                } else {
                    return Err(pyo3::exceptions::PyKeyError::new_err(name));
                }
            }
            Ok(out.into_any().unbind())
        })
    }

    fn versions(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guarded("versions", || {
            let st = self.lock(py)?;
            versions_dict(py, st.versions())
        })
    }

    fn versions_seen(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        guarded("versions_seen", || {
            let st = self.lock(py)?;
            seen_dict(py, &st)
        })
    }

    /// Replace channel_versions and versions_seen (after a checkpoint bumped
    /// snapshot versions).
    fn set_versions(
        &self,
        py: Python<'_>,
        versions: Bound<'_, PyDict>,
        seen: Bound<'_, PyDict>,
    ) -> PyResult<()> {
        guarded("set_versions", || {
            let g = self.graph.get();
            let versions = versions_from_dict(&versions)?;
            let seen = seen_from_dict(&seen)?;
            let mut st = self.lock(py)?;
            st.replace_versions(&g.inner, versions, seen);
            Ok(())
        })
    }

    fn mark_seen(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        guarded("mark_seen", || {
            let g = self.graph.get();
            self.lock(py)?.mark_seen(&g.inner, key);
            Ok(())
        })
    }

    fn should_interrupt(&self, py: Python<'_>) -> PyResult<bool> {
        guarded("should_interrupt", || {
            Ok(self.lock(py)?.should_interrupt())
        })
    }

    /// The step's task plans: a tuple per task `(id, name, path, triggers,
    /// input, task_ns, packet)`; `updated` the names of the channels the last
    /// step updated, None on a run's first step. (The step functions call it
    /// in Rust, `tick.rs`.)
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn prepare(
        &self,
        py: Python<'_>,
        checkpoint_id: &str,
        parent_ns: &str,
        step: i64,
        stop: i64,
        updated: Option<&Bound<'_, PyAny>>,
        sha1_ids: bool,
    ) -> PyResult<Py<PyList>> {
        guarded("prepare", || {
            let g = self.graph.get();
            let updated = updated.map(|u| channel_indices(g, u)).transpose()?;
            let st = self.lock(py)?;
            let ns_bytes = core::task_id::checkpoint_id_bytes(checkpoint_id)
                .ok_or_else(|| PyValueError::new_err(format!("invalid checkpoint id {checkpoint_id:?}")))?;
            let mut host = PyHost { py, graph: g, next_version: None, tasks: None };
            let plans = st
                .prepare(&g.inner, &ns_bytes, parent_ns, step, stop, updated.as_deref(), crate::scheme(sha1_ids), &mut host)
                .map_err(|e| map_err(py, g, e))?;
            let out = PyList::empty(py);
            for plan in plans {
                let pull = &g.pulls[plan.node];
                let name = pull.name.bind(py);
                let pulled = || (pull.path.bind(py).clone().into_any(), pull.triggers.bind(py).clone().into_any());
                let (path, triggers, input, packet): (Bound<'_, PyAny>, Bound<'_, PyAny>, Py<PyAny>, Py<PyAny>) =
                    match plan.input {
                        PlanInput::Packet(p) => {
                            let idx = plan.push_idx.unwrap_or(0);
                            let path = PyTuple::new(
                                py,
                                [
                                    PyString::new(py, core::state::PUSH).into_any(),
                                    idx.into_pyobject(py)?.into_any(),
                                    PyBool::new(py, false).to_owned().into_any(),
                                ],
                            )?;
                            let arg = p.bind(py).getattr(pyo3::intern!(py, "arg"))?.unbind();
                            (
                                path.into_any(),
                                PyTuple::new(py, [core::state::PUSH])?.into_any(),
                                arg,
                                p.clone_ref(py),
                            )
                        }
                        PlanInput::Single(got) => {
                            let input = got_to_py(py, got)?;
                            let (path, triggers) = pulled();
                            (path, triggers, input, py.None())
                        }
                        PlanInput::Map(vals) => {
                            let d = PyDict::new(py);
                            for (k, v) in vals {
                                match v {
                                    ReadVal::Got(got) => d.set_item(k, got_to_py(py, got)?)?,
                                    ReadVal::Managed(m) => d.set_item(k, managed_to_py(py, m)?)?,
                                }
                            }
                            let (path, triggers) = pulled();
                            (path, triggers, d.into_any().unbind(), py.None())
                        }
                    };
                let t = PyTuple::new(
                    py,
                    [
                        PyString::new(py, &plan.id).into_any(),
                        name.clone().into_any(),
                        path,
                        triggers,
                        input.into_bound(py),
                        PyString::new(py, &plan.task_ns).into_any(),
                        packet.into_bound(py),
                    ],
                )?;
                out.append(t)?;
            }
            Ok(out.unbind())
        })
    }

    #[pyo3(signature = (tasks, versioned = true))]
    fn apply_writes(
        &self,
        py: Python<'_>,
        tasks: Bound<'_, PyAny>,
        versioned: bool,
    ) -> PyResult<Py<PyList>> {
        guarded("apply_writes", || {
            let tasks = tasks
                .try_iter()?
                .map(|t| {
                    let t = t?;
                    Ok(TaskRef { name: t.get_item(0)?, path: t.get_item(1)?, triggers: t.get_item(2)?, writes: t.get_item(3)? })
                })
                .collect::<PyResult<Vec<_>>>()?;
            self.apply_with(py, &tasks, versioned)
        })
    }

    fn checkpoint(&self, py: Python<'_>) -> PyResult<(Py<PyAny>, Py<PyAny>, Py<PyAny>)> {
        guarded("checkpoint", || {
            let g = self.graph.get();
            let st = self.lock(py)?;
            let values = PyDict::new(py);
            for (c, (_, kind)) in g.inner.channels.iter().enumerate() {
                if st.version(c).is_none() {
                    continue;
                }
                if let Some(v) = checkpoint_value(py, kind, &st.channels[c])? {
                    values.set_item(g.names[c].bind(py), v)?;
                }
            }
            core::fault::check(core::fault::Op::Checkpoint);
            // from the last checkpoint's dicts (never blocks: uncontended, as
            // one run makes its checkpoints one at a time)
            let (versions, seen) = match self.kept.try_lock() {
                Ok(mut kept) => (
                    kept.versions(py, st.versions())?.into_any().unbind(),
                    kept.seen(py, &st.seen, st.seen_stamps())?.into_any().unbind(),
                ),
                Err(_) => (versions_dict(py, st.versions())?, seen_dict(py, &st)?),
            };
            Ok((values.into_any().unbind(), versions, seen))
        })
    }
}

pub(crate) fn versions_from_dict(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, Version)>> {
    d.iter().map(|(k, v)| Ok((k.extract::<String>()?, version_from_py(&v)?))).collect()
}

pub(crate) fn seen_from_dict(d: &Bound<'_, PyDict>) -> PyResult<Vec<(String, Vec<(String, Version)>)>> {
    d.iter()
        .map(|(k, v)| Ok((k.extract::<String>()?, versions_from_dict(v.downcast::<PyDict>()?)?)))
        .collect()
}

pub(crate) fn managed_kind(g: &Graph, name: &str) -> Option<Managed> {
    g.inner.nodes.iter().find_map(|n| match &n.read {
        core::Read::Many(items) => items.iter().find_map(|(k, it)| match it {
            core::ReadItem::Managed(_, m) if k == name => Some(*m),
            _ => None,
        }),
        _ => None,
    })
}

pub(crate) fn versions_dict(py: Python<'_>, vs: &core::Versions) -> PyResult<Py<PyAny>> {
    Ok(crate::versions_py::new_dict(py, &vs.entries)?.into_any().unbind())
}

pub(crate) fn seen_dict(py: Python<'_>, st: &core::State<V>) -> PyResult<Py<PyAny>> {
    let d = PyDict::new(py);
    for (node, vs) in &st.seen {
        d.set_item(&**node, versions_dict(py, vs)?)?;
    }
    Ok(d.into_any().unbind())
}
