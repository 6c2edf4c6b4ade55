//! `Pregel._defaults`, natively: a run's stream modes, output keys,
//! interrupt nodes, saver (`_resolve_checkpointer`), store, cache and
//! durability, from the graph and the run's config. A graph whose class
//! overrides `_defaults`, `_resolve_checkpointer` or
//! `_apply_checkpointer_allowlist`, and every config LangGraph rejects, get
//! LangGraph's own method (its exception is raised from there).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PySet, PyString, PyTuple};

use crate::boundary::guarded;

struct Imports {
    defaults: Py<PyAny>,
    resolve_checkpointer: Py<PyAny>,
    apply_allowlist: Py<PyAny>,
    serde: Py<PyAny>,
    base_saver: Py<PyAny>,
    key_checkpointer: Py<PyAny>,
    key_runtime: Py<PyAny>,
    key_cache: Py<PyAny>,
    key_durability: Py<PyAny>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let pregel = py.import("langgraph.pregel.main")?.getattr("Pregel")?;
        let constants = py.import("langgraph._internal._constants")?;
        Ok(Imports {
            defaults: pregel.getattr("_defaults")?.unbind(),
            resolve_checkpointer: pregel.getattr("_resolve_checkpointer")?.unbind(),
            apply_allowlist: pregel.getattr("_apply_checkpointer_allowlist")?.unbind(),
            serde: py.import("langgraph._internal._serde")?.into_any().unbind(),
            base_saver: py
                .import("langgraph.checkpoint.base")?
                .getattr("BaseCheckpointSaver")?
                .unbind(),
            key_checkpointer: constants.getattr("CONFIG_KEY_CHECKPOINTER")?.unbind(),
            key_runtime: constants.getattr("CONFIG_KEY_RUNTIME")?.unbind(),
            key_cache: constants.getattr("CONFIG_KEY_CACHE")?.unbind(),
            key_durability: constants.getattr("CONFIG_KEY_DURABILITY")?.unbind(),
        })
    })
}

/// Whether the graph's class keeps LangGraph's three methods.
fn plain(graph: &Bound<'_, PyAny>, im: &Imports) -> PyResult<bool> {
    let py = graph.py();
    let cls = graph.get_type();
    Ok(cls
        .getattr(intern!(py, "_defaults"))?
        .is(im.defaults.bind(py))
        && cls
            .getattr(intern!(py, "_resolve_checkpointer"))?
            .is(im.resolve_checkpointer.bind(py))
        && cls
            .getattr(intern!(py, "_apply_checkpointer_allowlist"))?
            .is(im.apply_allowlist.bind(py)))
}

/// `validate_keys(keys, channels)` holds (else LangGraph's raises).
fn keys_valid(keys: &Bound<'_, PyAny>, channels: &Bound<'_, PyAny>) -> PyResult<bool> {
    if keys.is_instance_of::<PyString>() {
        return channels.contains(keys);
    }
    for k in keys.try_iter()? {
        if !channels.contains(k?)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `graph._defaults(config, stream_mode=..., print_mode=..., output_keys=...,
/// interrupt_before=..., interrupt_after=..., durability=...)`, with
/// `output_keys` None read as `stream_channels_asis` (`channels_asis`: the
/// graph's channels list, cached on its spec).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn run_defaults<'py>(
    graph: &Bound<'py, PyAny>,
    channels_asis: &Bound<'py, PyAny>,
    config: &Bound<'py, PyDict>,
    stream_mode: &Bound<'py, PyAny>,
    print_mode: &Bound<'py, PyAny>,
    output_keys: &Bound<'py, PyAny>,
    interrupt_before: &Bound<'py, PyAny>,
    interrupt_after: &Bound<'py, PyAny>,
    durability: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyTuple>> {
    guarded("run_defaults", || {
        let py = graph.py();
        let im = imports(py)?;
        let langgraphs = || -> PyResult<Bound<'py, PyTuple>> {
            let kwargs = PyDict::new(py);
            kwargs.set_item(intern!(py, "stream_mode"), stream_mode)?;
            kwargs.set_item(intern!(py, "print_mode"), print_mode)?;
            kwargs.set_item(intern!(py, "output_keys"), output_keys)?;
            kwargs.set_item(intern!(py, "interrupt_before"), interrupt_before)?;
            kwargs.set_item(intern!(py, "interrupt_after"), interrupt_after)?;
            kwargs.set_item(intern!(py, "durability"), durability)?;
            Ok(graph
                .call_method(intern!(py, "_defaults"), (config,), Some(&kwargs))?
                .cast_into::<PyTuple>()?)
        };
        if !plain(graph, im)? {
            return langgraphs();
        }
        // `config["recursion_limit"] < 1`: LangGraph raises (as does a limit
        // that does not compare)
        let Some(limit) = config.get_item(intern!(py, "recursion_limit"))? else {
            return langgraphs();
        };
        if !matches!(limit.lt(1), Ok(false)) {
            return langgraphs();
        }
        let output_keys = if output_keys.is_none() {
            let own = graph.getattr(intern!(py, "stream_channels"))?;
            if own.is_truthy()? {
                own
            } else {
                channels_asis.clone()
            }
        } else if keys_valid(output_keys, &graph.getattr(intern!(py, "channels"))?)? {
            output_keys.clone()
        } else {
            return langgraphs();
        };
        let or = |given: &Bound<'py, PyAny>, own: &Bound<'py, PyString>| {
            if given.is_truthy()? {
                Ok::<_, PyErr>(given.clone())
            } else {
                graph.getattr(own)
            }
        };
        let interrupt_before = or(interrupt_before, intern!(py, "interrupt_before_nodes"))?;
        let interrupt_after = or(interrupt_after, intern!(py, "interrupt_after_nodes"))?;
        let stream_modes = if stream_mode.is_instance_of::<PyString>() {
            PySet::new(py, [stream_mode])?
        } else {
            PySet::new(py, stream_mode.try_iter()?.collect::<PyResult<Vec<_>>>()?)?
        };
        if print_mode.is_instance_of::<PyString>() {
            stream_modes.add(print_mode)?;
        } else {
            for m in print_mode.try_iter()? {
                stream_modes.add(m?)?;
            }
        }
        let conf = config.get_item(intern!(py, "configurable"))?;
        let conf = match conf {
            Some(c) => match c.cast_into::<PyDict>() {
                Ok(c) => Some(c),
                Err(_) => return langgraphs(),
            },
            None => None,
        };
        // _resolve_checkpointer
        let own = graph.getattr(intern!(py, "checkpointer"))?;
        let checkpointer = if own.is(pyo3::types::PyBool::new(py, false)) {
            py.None().into_bound(py)
        } else {
            let lent = match &conf {
                Some(c) => c.get_item(im.key_checkpointer.bind(py))?,
                None => None,
            };
            let cp = match lent {
                Some(cp) => cp,
                // checkpointer=True on a root graph: LangGraph raises
                None if own.is(pyo3::types::PyBool::new(py, true)) => return langgraphs(),
                None => own,
            };
            if cp.is_instance(im.base_saver.bind(py))?
                && im
                    .serde
                    .bind(py)
                    .getattr(intern!(py, "STRICT_MSGPACK_ENABLED"))?
                    .is_truthy()?
            {
                graph.call_method1(intern!(py, "_apply_checkpointer_allowlist"), (cp,))?
            } else {
                cp
            }
        };
        let conf_truthy = match &conf {
            Some(c) => !c.is_empty(),
            None => false,
        };
        if checkpointer.is_truthy()? && !conf_truthy {
            return langgraphs(); // (a saver needs a thread: LangGraph raises)
        }
        let from_conf = |key: &Py<PyAny>| -> PyResult<Option<Bound<'py, PyAny>>> {
            match &conf {
                Some(c) => c.get_item(key.bind(py)),
                None => Ok(None),
            }
        };
        let store = match from_conf(&im.key_runtime)? {
            Some(runtime) => runtime.getattr(intern!(py, "store"))?,
            None => graph.getattr(intern!(py, "store"))?,
        };
        let cache = match from_conf(&im.key_cache)? {
            Some(cache) => cache,
            None => graph.getattr(intern!(py, "cache"))?,
        };
        let durability = if durability.is_none() {
            match from_conf(&im.key_durability)? {
                Some(d) => d,
                None => intern!(py, "async").clone().into_any(),
            }
        } else {
            durability.clone()
        };
        PyTuple::new(
            py,
            [
                stream_modes.into_any(),
                output_keys,
                interrupt_before,
                interrupt_after,
                checkpointer,
                store,
                cache,
                durability,
            ],
        )
    })
}
