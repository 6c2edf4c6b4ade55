//! Running a sync task with its retry policy: LangGraph's
//! `langgraph.pregel._retry.run_with_retry`, natively.
//!
//! The task's config gets the node's `Runtime` with its `ExecutionInfo`
//! (first-attempt time, attempt number) and the engine's extra configurable
//! keys in one copy, where LangGraph patches the config three times and
//! rebuilds the frozen dataclasses with `dataclasses.replace` each time; what
//! the node sees is the same dict, key for key. Failures are handled as
//! LangGraph handles them: a `ParentCommand` for this graph is applied by the
//! task's writers, one for the parent gets the parent's namespace, bubbling
//! interrupts pass through, a `CancelledError` from the node body becomes
//! `NodeCancelledError`, other exceptions get LangGraph's note and are retried
//! per the first matching policy (sleeping and logging as LangGraph does).

use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyModule, PyString, PyTuple};

use crate::boundary::guarded;
use crate::runtime;

/// What the retry loop needs from LangGraph, imported once.
struct Imports {
    /// `langgraph.pregel._retry`: its helpers, and the `time`, `random` and
    /// `logger` it uses, are looked up there when a task fails (tests patch them)
    retry: Py<PyModule>,
    replace: Py<PyAny>,
    parent_command: Py<PyAny>,
    graph_bubble_up: Py<PyAny>,
    cancelled: Py<PyAny>,
    node_cancelled: Py<PyAny>,
    command_parent: Py<PyAny>,
    exc_notes: bool,
    conf: Py<PyString>,
    key_runtime: Py<PyString>,
    key_ns: Py<PyString>,
    key_resuming: Py<PyString>,
    node_attempt: Py<PyString>,
    node_first_attempt_time: Py<PyString>,
    execution_info_name: Py<PyString>,
}

impl Imports {
    fn helper<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        self.retry.bind(py).getattr(name)
    }
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let retry = py.import("langgraph.pregel._retry")?;
        let errors = py.import("langgraph.errors")?;
        let constants = py.import("langgraph._internal._constants")?;
        let key = |name: &str| -> PyResult<Py<PyString>> {
            Ok(constants.getattr(name)?.cast_into::<PyString>()?.unbind())
        };
        Ok(Imports {
            retry: retry.clone().unbind(),
            replace: py.import("dataclasses")?.getattr(pyo3::intern!(py, "replace"))?.unbind(),
            parent_command: errors.getattr(pyo3::intern!(py, "ParentCommand"))?.unbind(),
            graph_bubble_up: errors.getattr(pyo3::intern!(py, "GraphBubbleUp"))?.unbind(),
            cancelled: py.import("asyncio")?.getattr(pyo3::intern!(py, "CancelledError"))?.unbind(),
            node_cancelled: retry.getattr(pyo3::intern!(py, "NodeCancelledError"))?.unbind(),
            command_parent: py.import("langgraph.types")?.getattr(pyo3::intern!(py, "Command"))?.getattr(pyo3::intern!(py, "PARENT"))?.unbind(),
            exc_notes: retry.getattr(pyo3::intern!(py, "SUPPORTS_EXC_NOTES"))?.is_truthy()?,
            conf: key("CONF")?,
            key_runtime: key("CONFIG_KEY_RUNTIME")?,
            key_ns: key("CONFIG_KEY_CHECKPOINT_NS")?,
            key_resuming: key("CONFIG_KEY_RESUMING")?,
            node_attempt: PyString::intern(py, "node_attempt").unbind(),
            node_first_attempt_time: PyString::intern(py, "node_first_attempt_time").unbind(),
            execution_info_name: PyString::intern(py, "execution_info").unbind(),
        })
    })
}

/// The runtime in `config`'s configurable, if it is a `Runtime`.
fn runtime_of<'py>(im: &Imports, config: &Bound<'py, PyDict>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = config.py();
    let Some(conf) = config.get_item(im.conf.bind(py))? else { return Ok(None) };
    let Some(runtime) = conf.get_item(im.key_runtime.bind(py)).ok() else { return Ok(None) };
    Ok(if runtime::classes(py)?.runtime.is_instance(&runtime)? { Some(runtime) } else { None })
}

/// `runtime.patch_execution_info(**changes)`.
fn patch_execution_info<'py>(
    im: &Imports,
    runtime: &Bound<'py, PyAny>,
    changes: &[(&Bound<'py, PyString>, Bound<'py, PyAny>)],
) -> PyResult<Bound<'py, PyAny>> {
    let py = runtime.py();
    let name = im.execution_info_name.bind(py);
    let info = runtime.getattr(name)?;
    if info.is_none() {
        return Err(pyo3::exceptions::PyRuntimeError::new_err(
            "Cannot patch execution_info before it has been set",
        ));
    }
    let classes = runtime::classes(py)?;
    let info = classes.execution_info.replace(&info, changes)?;
    classes.runtime.replace(runtime, &[(name, info)])
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Runs `task` as LangGraph's `run_with_retry(task, retry_policy, configurable)`.
#[pyfunction]
#[pyo3(signature = (task, retry_policy, configurable=None))]
pub fn run_with_retry(
    py: Python<'_>,
    task: &Bound<'_, PyAny>,
    retry_policy: &Bound<'_, PyAny>,
    configurable: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    guarded("run_with_retry", || run(py, task, retry_policy, configurable))
}

/// The retry policy that applies: the task's own, else the graph's.
pub(crate) fn policy_of<'py>(task: &Bound<'py, PyAny>, retry_policy: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let own = task.getattr(pyo3::intern!(task.py(), "retry_policy"))?;
    Ok(if own.is_truthy()? { own } else { retry_policy.clone() })
}

/// The execution info of a task the engine built (rust/py/task_build.rs makes
/// one per task) that no attempt has used yet: attempt 1, no first-attempt
/// time, this task's id. Setting its first-attempt time in place is what
/// LangGraph's copy of the config for attempt 1 amounts to — no one else
/// holds the object.
fn fresh_execution_info<'py>(
    im: &Imports,
    task: &Bound<'py, PyAny>,
    config: &Bound<'py, PyAny>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = task.py();
    let Ok(config) = config.cast::<PyDict>() else { return Ok(None) };
    let Some(rt) = runtime_of(im, config)? else { return Ok(None) };
    let info = rt.getattr(im.execution_info_name.bind(py))?;
    if !info.get_type().is(runtime::classes(py)?.execution_info.class(py)) {
        return Ok(None);
    }
    let fresh = info.getattr(im.node_first_attempt_time.bind(py))?.is_none()
        && info.getattr(im.node_attempt.bind(py))?.eq(1)?
        && info.getattr(pyo3::intern!(py, "task_id"))?.eq(crate::runtime::task_attr(&task, pyo3::intern!(py, "id"))?)?;
    Ok(if fresh { Some(info) } else { None })
}

/// The config of a task's first attempt: the engine's keys, then the runtime
/// with its execution info (first-attempt time, attempt 1), in one copy.
pub(crate) fn first_config<'py>(
    task: &Bound<'py, PyAny>,
    configurable: Option<&Bound<'py, PyDict>>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = task.py();
    let im = imports(py)?;
    let first_attempt_time = now();
    let mut config = crate::runtime::task_attr(&task, pyo3::intern!(py, "config"))?;
    let mut patch: Vec<(&Bound<'_, PyAny>, Bound<'_, PyAny>)> = Vec::new();
    let extra: Vec<(Bound<'_, PyAny>, Bound<'_, PyAny>)> = match configurable {
        Some(c) => c.iter().collect(),
        None => Vec::new(),
    };
    for (k, v) in &extra {
        patch.push((k, v.clone()));
    }
    let key_runtime = im.key_runtime.bind(py).as_any();
    if !extra.iter().any(|(k, _)| k.eq(key_runtime).unwrap_or(false)) {
        if let Some(info) = fresh_execution_info(im, task, &config)? {
            // the task's own execution info, not yet run: its first-attempt
            // time is set where it is, and the engine's keys (the @task call)
            // go into a copy of the config, as LangGraph's patch puts them
            runtime::generic_setattr(
                &info,
                im.node_first_attempt_time.bind(py),
                &first_attempt_time.into_pyobject(py)?.into_any(),
            )?;
            if !patch.is_empty() {
                config = crate::checkpoint_put::patch_configurable(&config, &patch)?.into_any();
            }
            return Ok(config);
        }
    }
    // the runtime as LangGraph's first patch leaves it: the engine's keys win
    let runtime = match extra.iter().find(|(k, _)| k.eq(key_runtime).unwrap_or(false)) {
        Some((_, rt)) if runtime::classes(py)?.runtime.is_instance(rt)? => Some(rt.clone()),
        Some(_) => None,
        None => runtime_of(im, config.cast::<PyDict>()?)?,
    };
    if let Some(rt) = runtime {
        let rt = if rt.getattr(im.execution_info_name.bind(py))?.is_none() {
            // the config it reads is built only on this rare path
            let patched = crate::checkpoint_put::patch_configurable(&config, &patch)?;
            im.helper(py, "_ensure_execution_info")?.call1((&rt, &patched, task))?
        } else {
            rt
        };
        let rt = patch_execution_info(
            im,
            &rt,
            &[
                (im.node_first_attempt_time.bind(py), first_attempt_time.into_pyobject(py)?.into_any()),
                (im.node_attempt.bind(py), 1u32.into_pyobject(py)?.into_any()),
            ],
        )?;
        patch.push((key_runtime, rt));
    }
    if !patch.is_empty() {
        config = crate::checkpoint_put::patch_configurable(&config, &patch)?.into_any();
    }
    Ok(config)
}

/// The config of attempt `attempts + 1` after a failure: its runtime's
/// execution info says which attempt it is.
pub(crate) fn retry_config<'py>(config: Bound<'py, PyAny>, attempts: u32) -> PyResult<Bound<'py, PyAny>> {
    let py = config.py();
    let im = imports(py)?;
    let conf = config.cast::<PyDict>()?.clone();
    if let Some(rt) = runtime_of(im, &conf)? {
        let rt = patch_execution_info(
            im,
            &rt,
            &[(im.node_attempt.bind(py), (attempts + 1).into_pyobject(py)?.into_any())],
        )?;
        return Ok(crate::checkpoint_put::patch_configurable(&config, &[(im.key_runtime.bind(py).as_any(), rt)])?.into_any());
    }
    Ok(config)
}

/// What a failed attempt leads to.
pub(crate) enum Failure {
    /// a `ParentCommand` for this graph, applied by the task's writers
    Handled,
    /// the error to raise
    Raise(PyErr),
    /// sleep this long, then retry
    Retry(f64),
}

/// LangGraph's handling of an attempt's error. `user_cancelled` says whether a
/// `CancelledError` came from the node body (sync runs: always; async runs:
/// when the task is not being cancelled); other cancellations pass through.
pub(crate) fn on_failure<'py>(
    task: &Bound<'py, PyAny>,
    config: &Bound<'py, PyAny>,
    retry_policy: &Bound<'py, PyAny>,
    attempts: &mut u32,
    err: PyErr,
    user_cancelled: impl Fn() -> PyResult<bool>,
) -> PyResult<Failure> {
    let py = task.py();
    let im = imports(py)?;
    let exc = err.value(py).clone();
    if exc.is_instance(im.parent_command.bind(py))? {
        let ns = config.get_item(im.conf.bind(py))?.get_item(im.key_ns.bind(py))?;
        let cmd = exc.getattr(pyo3::intern!(py, "args"))?.get_item(0)?;
        let graph = cmd.getattr(pyo3::intern!(py, "graph"))?;
        let recast = im.helper(py, "recast_checkpoint_ns")?.call1((&ns,))?;
        if graph.eq(&ns)? || graph.eq(&recast)? || graph.eq(crate::runtime::task_attr(&task, pyo3::intern!(py, "name"))?)? {
            for w in crate::runtime::task_attr(&task, pyo3::intern!(py, "writers"))?.try_iter()? {
                w?.call_method1(pyo3::intern!(py, "invoke"), (&cmd, config))?;
            }
            return Ok(Failure::Handled);
        } else if graph.eq(im.command_parent.bind(py))? {
            let parent_ns = im.helper(py, "_checkpoint_ns_for_parent_command")?.call1((&ns,))?;
            let kwargs = PyDict::new(py);
            kwargs.set_item(pyo3::intern!(py, "graph"), parent_ns)?;
            let cmd = im.replace.bind(py).call((&cmd,), Some(&kwargs))?;
            exc.setattr(pyo3::intern!(py, "args"), PyTuple::new(py, [cmd])?)?;
        }
        return Ok(Failure::Raise(err));
    }
    if exc.is_instance(im.graph_bubble_up.bind(py))? {
        return Ok(Failure::Raise(err));
    }
    if exc.is_instance(im.cancelled.bind(py))? {
        if !user_cancelled()? {
            return Ok(Failure::Raise(err));
        }
        let new = im.node_cancelled.bind(py).call1((crate::runtime::task_attr(&task, pyo3::intern!(py, "name"))?,))?;
        new.setattr(pyo3::intern!(py, "__cause__"), &exc)?;
        new.setattr(pyo3::intern!(py, "__context__"), &exc)?;
        return Ok(Failure::Raise(PyErr::from_value(new)));
    }
    if !exc.is_instance_of::<PyException>() {
        return Ok(Failure::Raise(err));
    }
    if im.exc_notes {
        let note = format!(
            "During task with name '{}' and id '{}'",
            crate::runtime::task_attr(&task, pyo3::intern!(py, "name"))?.str()?,
            crate::runtime::task_attr(&task, pyo3::intern!(py, "id"))?.str()?
        );
        exc.call_method1(pyo3::intern!(py, "add_note"), (note,))?;
    }
    if !retry_policy.is_truthy()? {
        return Ok(Failure::Raise(err));
    }
    let mut matching = None;
    for policy in retry_policy.try_iter()? {
        let policy = policy?;
        if im.helper(py, "_should_retry_on")?.call1((&policy, &exc))?.is_truthy()? {
            matching = Some(policy);
            break;
        }
    }
    let Some(policy) = matching else { return Ok(Failure::Raise(err)) };
    *attempts += 1;
    if *attempts >= policy.getattr(pyo3::intern!(py, "max_attempts"))?.extract::<u32>()? {
        return Ok(Failure::Raise(err));
    }
    let initial: f64 = policy.getattr(pyo3::intern!(py, "initial_interval"))?.extract()?;
    let backoff: f64 = policy.getattr(pyo3::intern!(py, "backoff_factor"))?.extract()?;
    let max_interval: f64 = policy.getattr(pyo3::intern!(py, "max_interval"))?.extract()?;
    let interval = max_interval.min(initial * backoff.powf(f64::from(*attempts - 1)));
    Ok(Failure::Retry(if policy.getattr(pyo3::intern!(py, "jitter"))?.is_truthy()? {
        interval + im.helper(py, "random")?.getattr(pyo3::intern!(py, "uniform"))?.call1((0, 1))?.extract::<f64>()?
    } else {
        interval
    }))
}

/// After the backoff sleep: LangGraph's log line, and the config of the next
/// attempt (subgraphs told to resume, the interrupt counter reset).
pub(crate) fn after_sleep<'py>(
    task: &Bound<'py, PyAny>,
    config: &Bound<'py, PyAny>,
    attempts: u32,
    sleep_time: f64,
    exc: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let py = task.py();
    let im = imports(py)?;
    let message = format!(
        "Retrying task {} after {:.2} seconds (attempt {}) after {} {}",
        crate::runtime::task_attr(&task, pyo3::intern!(py, "name"))?.str()?,
        sleep_time,
        attempts,
        exc.get_type().name()?,
        exc.str()?
    );
    let kwargs = PyDict::new(py);
    kwargs.set_item(pyo3::intern!(py, "exc_info"), exc)?;
    im.helper(py, "logger")?.call_method(pyo3::intern!(py, "info"), (message,), Some(&kwargs))?;
    let resuming = im.key_resuming.bind(py).as_any();
    let config = crate::checkpoint_put::patch_configurable(config, &[(resuming, true.into_pyobject(py)?.to_owned().into_any())])?;
    im.helper(py, "_reset_interrupt_counter")?.call1((&config,))
}

/// `langgraph.pregel._retry`'s module attribute `name` (tests patch them).
pub(crate) fn retry_helper<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    imports(py)?.helper(py, name)
}

fn run(
    py: Python<'_>,
    task: &Bound<'_, PyAny>,
    retry_policy: &Bound<'_, PyAny>,
    configurable: Option<&Bound<'_, PyDict>>,
) -> PyResult<Py<PyAny>> {
    let im = imports(py)?;
    let retry_policy = policy_of(task, retry_policy)?;
    if !crate::runtime::task_attr(&task, pyo3::intern!(py, "timeout"))?.is_none() {
        let err = im.helper(py, "sync_timeout_unsupported")?.call1((crate::runtime::task_attr(&task, pyo3::intern!(py, "name"))?,))?;
        return Err(PyErr::from_value(err));
    }
    let mut attempts: u32 = 0;
    let mut config = first_config(task, configurable)?;
    let writes = crate::runtime::task_attr(&task, pyo3::intern!(py, "writes"))?;
    let proc = crate::runtime::task_attr(&task, pyo3::intern!(py, "proc"))?;
    let input = crate::runtime::task_attr(&task, pyo3::intern!(py, "input"))?;
    loop {
        if attempts > 0 {
            config = retry_config(config, attempts)?;
        }
        writes.call_method0(pyo3::intern!(py, "clear"))?;
        let err = match proc.call_method1(pyo3::intern!(py, "invoke"), (&input, &config)) {
            Ok(value) => return Ok(value.unbind()),
            Err(err) => err,
        };
        let exc = err.value(py).clone();
        match on_failure(task, &config, &retry_policy, &mut attempts, err, || Ok(true))? {
            Failure::Handled => return Ok(py.None()),
            Failure::Raise(err) => return Err(err),
            Failure::Retry(sleep_time) => {
                im.helper(py, "time")?.getattr(pyo3::intern!(py, "sleep"))?.call1((sleep_time,))?;
                config = after_sleep(task, &config, attempts, sleep_time, &exc)?;
            }
        }
    }
}
