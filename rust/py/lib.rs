//! `langgraph_rs._native`: the thin PyO3 layer over `langgraph-rs-core`.
//!
//! Values are Python objects the core never looks into; this layer supplies the
//! core's `Host` (reducers, `Overwrite`/`Send` detection, versions) and maps the
//! core's error enum onto LangGraph's exceptions.

mod boundary;
mod callback_config;
mod callbacks;
mod channel_write;
mod checkpoint_put;
mod graph_py;
mod ids;
mod invoke_output;
mod job_queue;
mod loop_fields;
mod node_attrs;
mod node_call;
mod node_call_async;
mod node_config;
mod py_seq;
mod retry;
mod retry_async;
mod run_config;
mod run_defaults;
mod run_enter;
mod run_start;
mod runtime;
mod state_py;
mod state_snapshot;
mod step_commit;
mod stream_output;
mod stream_put;
mod sync_driver;
mod task_build;
mod task_config;
mod tick;
mod versions_py;
mod writes;

use std::collections::HashMap;

use boundary::{guarded, EngineError};

use langgraph_rs_core as core;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

pub(crate) type V = Py<PyAny>;

use graph_py::Graph;
use state_py::{pair, State};

pub(crate) use state_py::task_path_str;

/// Rust-side allocations (names, plans, write lists) go to mimalloc: a
/// superstep makes a few dozen short-lived ones, and glibc's malloc/free cost
/// about three times as much per pair. Python objects keep CPython's allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The "updates" stream chunk of one finished task (`_io.map_output_updates` for a
/// task that is not hidden and did not fail or interrupt).
#[pyfunction]
#[pyo3(signature = (output_keys, name, writes, cached=false))]
pub(crate) fn updates_chunk(
    py: Python<'_>,
    output_keys: Bound<'_, PyAny>,
    name: &str,
    writes: Bound<'_, PyAny>,
    cached: bool,
) -> PyResult<Py<PyDict>> {
    guarded("updates_chunk", || {
        let writes: Vec<(String, Py<PyAny>)> = writes
            .try_iter()?
            .map(|w| pair(&w?))
            .collect::<PyResult<_>>()?;
        let mut updated: Vec<Py<PyAny>> = Vec::new();
        if let Some((_, rtn)) = writes.iter().find(|(c, _)| c == "__return__") {
            updated.push(rtn.clone_ref(py));
        } else if let Ok(key) = output_keys.downcast::<PyString>() {
            let key = key.to_str()?;
            updated.extend(
                writes
                    .iter()
                    .filter(|(c, _)| c == key)
                    .map(|(_, v)| v.clone_ref(py)),
            );
        } else {
            let keys: std::collections::HashSet<String> = output_keys
                .try_iter()?
                .map(|k| k?.extract::<String>())
                .collect::<PyResult<_>>()?;
            let selected: Vec<&(String, Py<PyAny>)> =
                writes.iter().filter(|(c, _)| keys.contains(c)).collect();
            if !selected.is_empty() {
                let mut counts: HashMap<&str, usize> = HashMap::new();
                for (c, _) in &selected {
                    *counts.entry(c.as_str()).or_default() += 1;
                }
                if counts.values().any(|n| *n > 1) {
                    for (c, v) in &selected {
                        let d = PyDict::new(py);
                        d.set_item(c, v.bind(py))?;
                        updated.push(d.into_any().unbind());
                    }
                } else {
                    let d = PyDict::new(py);
                    for (c, v) in &selected {
                        d.set_item(c, v.bind(py))?;
                    }
                    updated.push(d.into_any().unbind());
                }
            }
        }
        let grouped = PyDict::new(py);
        match updated.len() {
            0 => grouped.set_item(name, py.None())?,
            1 => grouped.set_item(name, updated.pop())?,
            _ => grouped.set_item(name, PyList::new(py, updated.iter().map(|v| v.bind(py)))?)?,
        }
        if cached {
            let meta = PyDict::new(py);
            meta.set_item(pyo3::intern!(py, "cached"), true)?;
            grouped.set_item(pyo3::intern!(py, "__metadata__"), meta)?;
        }
        Ok(grouped.unbind())
    })
}

/// `_algo._xxhash_str(unhexlify(checkpoint_id without dashes), *parts)`.
#[pyfunction]
#[pyo3(signature = (checkpoint_id, *parts, sha1_ids=false))]
fn task_id(checkpoint_id: &str, parts: Vec<String>, sha1_ids: bool) -> PyResult<String> {
    guarded("task_id", || {
        let ns = core::task_id::checkpoint_id_bytes(checkpoint_id).ok_or_else(|| {
            PyValueError::new_err(format!("invalid checkpoint id {checkpoint_id:?}"))
        })?;
        Ok(core::task_id::task_id_with(scheme(sha1_ids), &ns, &parts))
    })
}

pub(crate) fn scheme(sha1_ids: bool) -> core::task_id::IdScheme {
    if sha1_ids {
        core::task_id::IdScheme::Sha1
    } else {
        core::task_id::IdScheme::Xxh3
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Graph>()?;
    m.add_class::<State>()?;
    m.add_function(wrap_pyfunction!(task_id, m)?)?;
    m.add_function(wrap_pyfunction!(retry::run_with_retry, m)?)?;
    m.add_function(wrap_pyfunction!(retry_async::arun_with_retry, m)?)?;
    m.add_class::<retry_async::ARetry>()?;
    m.add_function(wrap_pyfunction!(runtime::override_runtime, m)?)?;
    m.add_function(wrap_pyfunction!(runtime::execution_info, m)?)?;
    m.add_function(wrap_pyfunction!(task_config::task_config, m)?)?;
    m.add_function(wrap_pyfunction!(task_build::build_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(ids::checkpoint_id, m)?)?;
    m.add_function(wrap_pyfunction!(ids::now_iso, m)?)?;
    m.add_function(wrap_pyfunction!(run_start::map_input, m)?)?;
    m.add_function(wrap_pyfunction!(run_start::cached_spec, m)?)?;
    m.add_function(wrap_pyfunction!(checkpoint_put::put_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(run_start::empty_checkpoint, m)?)?;
    m.add_function(wrap_pyfunction!(run_start::run_runtime, m)?)?;
    m.add_function(wrap_pyfunction!(run_start::stream_protocol, m)?)?;
    m.add_function(wrap_pyfunction!(run_enter::start_empty, m)?)?;
    m.add_function(wrap_pyfunction!(run_defaults::run_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(run_config::ensure_config, m)?)?;
    m.add_function(wrap_pyfunction!(run_enter::after_first, m)?)?;
    m.add_function(wrap_pyfunction!(stream_output::stream_output, m)?)?;
    m.add_function(wrap_pyfunction!(step_commit::commit_ok, m)?)?;
    m.add_function(wrap_pyfunction!(step_commit::apply_step, m)?)?;
    m.add_function(wrap_pyfunction!(tick::prepare_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(tick::tick_prelude, m)?)?;
    m.add_function(wrap_pyfunction!(tick::after_tick, m)?)?;
    m.add_function(wrap_pyfunction!(tick::tasks_to_run, m)?)?;
    m.add_class::<sync_driver::SyncSteps>()?;
    m.add_class::<job_queue::JobQueue>()?;
    m.add_class::<invoke_output::InvokeOutput>()?;
    m.add_class::<stream_put::LoopPut>()?;
    m.add_class::<task_build::NullResume>()?;
    m.add_class::<task_build::StepConsts>()?;
    m.add_class::<node_call::LeanSeq>()?;
    m.add_class::<node_call::LeanWrite>()?;
    m.add_class::<node_call_async::LeanAwait>()?;
    m.add_function(wrap_pyfunction!(writes::all_written_in, m)?)?;
    m.add_function(wrap_pyfunction!(writes::any_written_in, m)?)?;
    m.add_function(wrap_pyfunction!(writes::any_in, m)?)?;
    m.add_function(wrap_pyfunction!(writes::extend_pending, m)?)?;
    m.add_function(wrap_pyfunction!(channel_write::writer_plan, m)?)?;
    m.add_function(wrap_pyfunction!(channel_write::channel_write, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::callback_child, m)?)?;
    m.add_function(wrap_pyfunction!(callbacks::chain_run_manager, m)?)?;
    m.add_function(wrap_pyfunction!(
        callback_config::plain_callback_manager,
        m
    )?)?;
    m.add_function(wrap_pyfunction!(updates_chunk, m)?)?;
    m.add_function(wrap_pyfunction!(state_snapshot::snapshot_tasks, m)?)?;
    m.add_function(wrap_pyfunction!(boundary::_debug_panic_next, m)?)?;
    m.add("EngineError", m.py().get_type::<EngineError>())?;
    Ok(())
}
