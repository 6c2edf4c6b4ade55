//! A task's config: LangGraph's `patch_config(merge_configs(config,
//! {"metadata": ..., "tags": ...}), run_name=..., callbacks=...,
//! configurable=...)` in one pass, natively — the same dict, key order
//! included, without the intermediate copies.
//!
//! Metadata merges as `langgraph._internal._config._merge_metadata` does:
//! newer keys win, mapping values are copied one level, and `lc_versions`
//! merges one level deeper.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString};

use crate::boundary::guarded;

struct Keys {
    metadata: Py<PyString>,
    tags: Py<PyString>,
    callbacks: Py<PyString>,
    recursion_limit: Py<PyString>,
    run_name: Py<PyString>,
    run_id: Py<PyString>,
    configurable: Py<PyString>,
    lc_versions: Py<PyString>,
    mapping: Py<PyAny>,
    default_recursion_limit: Py<PyAny>,
    merge_callbacks: Py<PyAny>,
}

static KEYS: PyOnceLock<Keys> = PyOnceLock::new();

fn keys(py: Python<'_>) -> PyResult<&'static Keys> {
    KEYS.get_or_try_init(py, || {
        let config = py.import("langgraph._internal._config")?;
        let s = |v: &str| PyString::intern(py, v).unbind();
        Ok(Keys {
            metadata: s("metadata"),
            tags: s("tags"),
            callbacks: s("callbacks"),
            recursion_limit: s("recursion_limit"),
            run_name: s("run_name"),
            run_id: s("run_id"),
            configurable: s("configurable"),
            lc_versions: s("lc_versions"),
            mapping: py.import("collections.abc")?.getattr(pyo3::intern!(py, "Mapping"))?.unbind(),
            default_recursion_limit: config.getattr(pyo3::intern!(py, "_DefaultRecursionLimit"))?.unbind(),
            merge_callbacks: config.getattr(pyo3::intern!(py, "_merge_callbacks"))?.unbind(),
        })
    })
}

fn is_mapping(k: &Keys, v: &Bound<'_, PyAny>) -> PyResult<bool> {
    if v.is_instance_of::<PyDict>() {
        return Ok(true);
    }
    // the usual metadata values: answered without the `Mapping` ABC check
    if v.is_none()
        || v.is_exact_instance_of::<PyString>()
        || v.is_exact_instance_of::<pyo3::types::PyInt>()
        || v.is_exact_instance_of::<pyo3::types::PyTuple>()
        || v.is_exact_instance_of::<PyList>()
    {
        return Ok(false);
    }
    v.is_instance(k.mapping.bind(v.py()))
}

/// `dict(value)` for a mapping, else the value itself.
fn copy_mapping_value<'py>(k: &Keys, v: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(d) = v.cast::<PyDict>() {
        return Ok(d.copy()?.into_any());
    }
    if is_mapping(k, &v)? {
        let out = PyDict::new(v.py());
        out.update(v.cast::<pyo3::types::PyMapping>()?)?;
        return Ok(out.into_any());
    }
    Ok(v)
}

fn items<'py>(v: &Bound<'py, PyAny>) -> PyResult<Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>> {
    if let Ok(d) = v.cast::<PyDict>() {
        return Ok(d.iter().collect());
    }
    v.call_method0(pyo3::intern!(v.py(), "items"))?
        .try_iter()?
        .map(|kv| kv.and_then(|kv| kv.extract::<(Bound<'py, PyAny>, Bound<'py, PyAny>)>()))
        .collect()
}

/// `_merge_metadata(base, new)`.
fn merge_metadata<'py>(
    k: &Keys,
    py: Python<'py>,
    base: Option<&Bound<'py, PyAny>>,
    new: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let merged = PyDict::new(py);
    if let Some(base) = base {
        for (key, value) in items(base)? {
            merged.set_item(key, copy_mapping_value(k, value)?)?;
        }
    }
    if let Some(new) = new {
        let lc_versions = k.lc_versions.bind(py);
        for (key, value) in items(new)? {
            if key.eq(lc_versions)? {
                if let Some(old) = merged.get_item(&key)? {
                    if is_mapping(k, &old)? && is_mapping(k, &value)? {
                        let both = PyDict::new(py);
                        for (kk, vv) in items(&old)?.into_iter().chain(items(&value)?) {
                            both.set_item(kk, vv)?;
                        }
                        merged.set_item(key, both)?;
                        continue;
                    }
                }
            }
            merged.set_item(key, copy_mapping_value(k, value)?)?;
        }
    }
    Ok(merged)
}

/// The config a task's node runs with (see the module docs); `metadata` and
/// `tags` are what the task adds, `callbacks` its callback manager or None.
#[pyfunction]
#[pyo3(signature = (config, metadata, tags, *, run_name, callbacks, configurable))]
pub fn task_config<'py>(
    py: Python<'py>,
    config: &Bound<'py, PyDict>,
    metadata: Option<&Bound<'py, PyAny>>,
    tags: Option<&Bound<'py, PyAny>>,
    run_name: &Bound<'py, PyAny>,
    callbacks: &Bound<'py, PyAny>,
    configurable: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyDict>> {
    guarded("task_config", || {
        let k = keys(py)?;
        // "or None": empty additions are no additions
        let metadata = match metadata {
            Some(m) if m.is_truthy()? => Some(m),
            _ => None,
        };
        let tags = match tags {
            Some(t) if t.is_truthy()? => Some(t),
            _ => None,
        };
        let (key_metadata, key_tags, key_callbacks) =
            (k.metadata.bind(py), k.tags.bind(py), k.callbacks.bind(py));
        let out = PyDict::new(py);
        for (key, value) in config.iter() {
            if !crate::runtime::truthy(&value)? {
                continue;
            }
            if key.eq(key_metadata)? {
                out.set_item(key, merge_metadata(k, py, Some(&value), metadata)?)?;
            } else if key.eq(key_tags)? {
                match tags {
                    Some(extra) => {
                        let joined = PyList::empty(py);
                        for t in value.try_iter()?.chain(extra.try_iter()?) {
                            joined.append(t?)?;
                        }
                        out.set_item(key, joined)?;
                    }
                    None => out.set_item(key, value)?,
                }
            } else if key.eq(key_callbacks)? {
                if callbacks.is_none() {
                    let merged = k.merge_callbacks.bind(py).call1((py.None(), &value))?;
                    out.set_item(key, merged)?;
                } else {
                    out.set_item(key, callbacks)?;
                }
            } else if key.eq(k.recursion_limit.bind(py))? {
                if !value.is_instance(k.default_recursion_limit.bind(py))? {
                    out.set_item(key, value)?;
                }
            } else {
                out.set_item(key, value)?;
            }
        }
        if let Some(m) = metadata {
            if !out.contains(key_metadata)? {
                out.set_item(key_metadata, merge_metadata(k, py, None, Some(m))?)?;
            }
        }
        if let Some(t) = tags {
            if !out.contains(key_tags)? {
                out.set_item(key_tags, t)?;
            }
        }
        let key_conf = k.configurable.bind(py);
        let conf = match out.get_item(key_conf)? {
            Some(old) => match old.cast::<PyDict>() {
                Ok(d) => d.copy()?,
                Err(_) => {
                    let conf = PyDict::new(py);
                    for (kk, vv) in items(&old)? {
                        conf.set_item(kk, vv)?;
                    }
                    conf
                }
            },
            None => PyDict::new(py),
        };
        if !out.contains(key_conf)? {
            out.set_item(key_conf, PyDict::new(py))?;
        }
        if !callbacks.is_none() {
            out.set_item(key_callbacks, callbacks)?;
            if out.contains(k.run_name.bind(py))? {
                out.del_item(k.run_name.bind(py))?;
            }
            if out.contains(k.run_id.bind(py))? {
                out.del_item(k.run_id.bind(py))?;
            }
        }
        out.set_item(k.run_name.bind(py), run_name)?;
        for (kk, vv) in configurable.iter() {
            conf.set_item(kk, vv)?;
        }
        out.set_item(key_conf, conf)?;
        Ok(out)
    })
}

/// The config of the tasks of one run, made once: the run's config as
/// [`task_config`] merges it, with the parts that differ per task (the task's
/// metadata values, run name, callbacks and configurable) filled in by
/// [`ConfigTemplate::config`]. One template serves every node that adds no
/// tags or metadata of its own (the run name's key is last in any case);
/// a node that adds some gets one of its own. Key order and values are those
/// [`task_config`] gives; a run whose config needs per-task work beyond that
/// (metadata values that are mappings, `lc_versions`, callbacks merged with
/// no run manager) gets no template.
#[pyclass(frozen, module = "langgraph_rs._native")]
pub struct ConfigTemplate {
    /// The run config it was made from, and its length then.
    run_config: Py<PyDict>,
    run_len: usize,
    config: Py<PyDict>,
    metadata: Py<PyDict>,
    /// The joined tags list, when the task adds tags to the run's.
    tags: Option<Py<PyList>>,
    /// Which of the task's metadata keys the node's own metadata leaves to
    /// the task.
    task_keys: Vec<bool>,
}

#[pymethods]
impl ConfigTemplate {
    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.run_config)?;
        visit.call(&self.config)?;
        visit.call(&self.metadata)?;
        if let Some(t) = &self.tags {
            visit.call(t)?;
        }
        Ok(())
    }
}

impl ConfigTemplate {
    /// The template for tasks of a node with `extra` metadata and `tags`,
    /// named `run_name`, whose metadata keys are `task_keys`; None when the
    /// run's config needs the full merge per task.
    pub fn make<'py>(
        config: &Bound<'py, PyDict>,
        task_keys: &[&Bound<'py, PyString>],
        extra: &Bound<'py, PyAny>,
        tags: &Bound<'py, PyAny>,
        run_name: &Bound<'py, PyAny>,
        callbacks: &Bound<'py, PyAny>,
    ) -> PyResult<Option<ConfigTemplate>> {
        let py = config.py();
        let k = keys(py)?;
        if callbacks.is_none() {
            return Ok(None);
        }
        let extra = if extra.is_truthy()? {
            match extra.cast::<PyDict>() {
                Ok(d) => Some(d),
                Err(_) => return Ok(None),
            }
        } else {
            None
        };
        let placeholder = PyDict::new(py);
        for key in task_keys {
            placeholder.set_item(key, py.None())?;
        }
        if let Some(extra) = extra {
            if extra.contains(k.lc_versions.bind(py))? {
                return Ok(None);
            }
            placeholder.update(extra.as_mapping())?;
        }
        let out = task_config(py, config, Some(placeholder.as_any()), Some(tags), run_name, callbacks, &PyDict::new(py))?;
        let metadata = match out.get_item(k.metadata.bind(py))? {
            Some(m) => m.cast_into::<PyDict>()?,
            None => return Ok(None),
        };
        for (_, v) in metadata.iter() {
            if is_mapping(k, &v)? {
                return Ok(None);
            }
        }
        let run_tags = config.get_item(k.tags.bind(py))?;
        let joined = match (&run_tags, tags.is_truthy()?) {
            (Some(t), true) if t.is_truthy()? => Some(out.get_item(k.tags.bind(py))?.expect("joined").cast_into::<PyList>()?.unbind()),
            _ => None,
        };
        let task_keys = task_keys
            .iter()
            .map(|key| Ok(!extra.map(|e| e.contains(key)).transpose()?.unwrap_or(false)))
            .collect::<PyResult<Vec<bool>>>()?;
        // `config` sets these per task: the template keeps their places in
        // the key order, not the first task's objects (its callback manager
        // and configurable would live as long as the run)
        for key in [&k.callbacks, &k.configurable, &k.metadata] {
            if out.contains(key.bind(py))? {
                out.set_item(key.bind(py), py.None())?;
            }
        }
        Ok(Some(ConfigTemplate {
            run_config: config.clone().unbind(),
            run_len: config.len(),
            config: out.unbind(),
            metadata: metadata.unbind(),
            tags: joined,
            task_keys,
        }))
    }

    /// Whether it was made from this run config (as it is now).
    pub fn fits(&self, config: &Bound<'_, PyDict>) -> bool {
        self.run_config.bind(config.py()).is(config) && config.len() == self.run_len
    }

    /// The config of one task: its metadata values (in the order of the
    /// `task_keys` the template was made with), its callbacks, and the
    /// run's configurable (as it is now) with the task's keys.
    pub fn config<'py>(
        &self,
        task_keys: &[&Bound<'py, PyString>],
        values: &[&Bound<'py, PyAny>],
        run_name: &Bound<'py, PyAny>,
        callbacks: &Bound<'py, PyAny>,
        run_configurable: &Bound<'py, PyDict>,
        configurable: &[(&Bound<'py, PyString>, Bound<'py, PyAny>)],
    ) -> PyResult<Bound<'py, PyDict>> {
        let py = callbacks.py();
        let k = keys(py)?;
        let out = self.config.bind(py).copy()?;
        let metadata = self.metadata.bind(py).copy()?;
        for ((key, value), own) in task_keys.iter().zip(values).zip(&self.task_keys) {
            if *own {
                metadata.set_item(key, value)?;
            }
        }
        out.set_item(k.metadata.bind(py), metadata)?;
        if let Some(tags) = &self.tags {
            out.set_item(k.tags.bind(py), PyList::new(py, tags.bind(py).iter())?)?;
        }
        out.set_item(k.callbacks.bind(py), callbacks)?;
        out.set_item(k.run_name.bind(py), run_name)?;
        let conf = run_configurable.copy()?;
        for (key, value) in configurable {
            conf.set_item(key, value)?;
        }
        out.set_item(k.configurable.bind(py), conf)?;
        Ok(out)
    }
}
