//! A run's config, natively: LangGraph's `ensure_config(*configs)` (the
//! graph's bound config merged with the one the run was called with, over
//! the defaults) for the common case — no ambient config (the run is not
//! called from inside another run's node) and no callbacks or metadata to
//! merge. Any other case calls LangGraph's own.

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyMapping, PyTuple};

use crate::boundary::guarded;

struct Imports {
    ensure_config: Py<PyAny>,
    var_child_runnable_config: Py<PyAny>,
    config_keys: Py<PyAny>,
    propagate_to_metadata: Py<PyAny>,
    default_recursion_limit: Py<PyAny>,
    chain_map: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let config = py.import("langgraph._internal._config")?;
        Ok(Imports {
            ensure_config: config.getattr("ensure_config")?.unbind(),
            var_child_runnable_config: config.getattr("var_child_runnable_config")?.unbind(),
            config_keys: config.getattr("CONFIG_KEYS")?.unbind(),
            propagate_to_metadata: config.getattr("_PROPAGATE_TO_METADATA")?.unbind(),
            default_recursion_limit: config.getattr("DEFAULT_RECURSION_LIMIT")?.unbind(),
            chain_map: py.import("collections")?.getattr("ChainMap")?.unbind(),
        })
    })
}

/// LangGraph's `_is_not_empty`: a list, tuple or dict that is not empty, or
/// anything else that is not None.
fn not_empty(v: &Bound<'_, PyAny>) -> PyResult<bool> {
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() || v.is_instance_of::<PyDict>()
    {
        Ok(v.len()? > 0)
    } else {
        Ok(!v.is_none())
    }
}

/// Whether the native merge applies: every config is None or a dict with no
/// callbacks or metadata to merge, and there is no ambient config.
fn plain(configs: &Bound<'_, PyTuple>, im: &Imports) -> PyResult<bool> {
    let py = configs.py();
    if im
        .var_child_runnable_config
        .bind(py)
        .call_method0(intern!(py, "get"))?
        .is_truthy()?
    {
        return Ok(false);
    }
    for config in configs.iter() {
        if config.is_none() {
            continue;
        }
        let Ok(config) = config.cast::<PyDict>() else {
            return Ok(false);
        };
        for key in [intern!(py, "callbacks"), intern!(py, "metadata")] {
            if let Some(v) = config.get_item(key)? {
                if not_empty(&v)? {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// `ensure_config(*configs)`.
#[pyfunction]
#[pyo3(signature = (*configs))]
pub fn ensure_config<'py>(configs: &Bound<'py, PyTuple>) -> PyResult<Bound<'py, PyAny>> {
    guarded("ensure_config", || {
        let py = configs.py();
        let im = imports(py)?;
        if !plain(configs, im)? {
            return im.ensure_config.bind(py).call1(configs);
        }
        let conf_key = intern!(py, "configurable");
        let tags_key = intern!(py, "tags");
        let config_keys = im.config_keys.bind(py);
        let empty = PyDict::new(py);
        empty.set_item(tags_key, PyList::empty(py))?;
        empty.set_item(intern!(py, "metadata"), im.chain_map.bind(py).call0()?)?;
        empty.set_item(intern!(py, "callbacks"), py.None())?;
        empty.set_item(
            intern!(py, "recursion_limit"),
            im.default_recursion_limit.bind(py),
        )?;
        empty.set_item(conf_key, PyDict::new(py))?;
        for config in configs.iter() {
            if config.is_none() {
                continue;
            }
            let config = config.cast::<PyDict>()?;
            for (k, v) in config.iter() {
                if !not_empty(&v)? || !config_keys.contains(&k)? {
                    continue;
                }
                if k.eq(conf_key)? {
                    // shallow-merged over the configurable of the configs before
                    let merged = match empty.get_item(conf_key)? {
                        Some(existing) if existing.is_truthy()? => {
                            let d = PyDict::new(py);
                            d.update(existing.cast::<PyDict>()?.as_mapping())?;
                            d.update(v.cast::<PyMapping>()?)?;
                            d.into_any()
                        }
                        _ => v.call_method0(intern!(py, "copy"))?,
                    };
                    empty.set_item(conf_key, merged)?;
                } else if k.eq(tags_key)? {
                    // concatenated (no ambient tags to skip)
                    let tags = PyList::empty(py);
                    if let Some(existing) = empty.get_item(tags_key)? {
                        if existing.is_truthy()? {
                            for t in existing.try_iter()? {
                                tags.append(t?)?;
                            }
                        }
                    }
                    for t in v.try_iter()? {
                        tags.append(t?)?;
                    }
                    empty.set_item(tags_key, tags)?;
                } else {
                    empty.set_item(k, v)?;
                }
            }
            for (k, v) in config.iter() {
                if not_empty(&v)? && !config_keys.contains(&k)? {
                    empty
                        .get_item(conf_key)?
                        .map(|c| c.set_item(k, v))
                        .transpose()?;
                }
            }
        }
        // the checkpoint coordinates and ids the configurable names go into metadata
        if let (Some(configurable), Some(metadata)) = (
            empty.get_item(conf_key)?,
            empty.get_item(intern!(py, "metadata"))?,
        ) {
            if configurable.is_truthy()? && !metadata.is_none() {
                for key in im.propagate_to_metadata.bind(py).try_iter()? {
                    let key = key?;
                    if metadata.contains(&key)? {
                        continue;
                    }
                    let value = configurable.call_method1(intern!(py, "get"), (&key,))?;
                    if value.is_truthy()? {
                        metadata.set_item(key, value)?;
                    }
                }
            }
        }
        Ok(empty.into_any())
    })
}
