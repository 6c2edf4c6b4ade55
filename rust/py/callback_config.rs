//! A run's callback manager when nothing adds a handler to it:
//! `get_callback_manager_for_config(config)` (or the async one) followed by
//! the `ls_integration` metadata LangGraph's stream adds, made natively.
//!
//! langchain-core's `_configure` adds handlers from the config's callbacks,
//! from tracing (langsmith's context variables and global setting, the
//! environment), from `debug`, and from its configure hooks; with none of
//! them the manager it returns is plain data — empty handler lists, the
//! config's tags and metadata — and that is what is made here. The rules
//! followed are langchain-core's and langsmith's code: `langgraph_rs._callback_rules`
//! checks once per process that their source is the one these rules were
//! taken from (else nothing is made here), and every call checks that none of
//! those functions was replaced since. Whenever a rule might add a handler the
//! caller makes the real call: `None` is returned.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::boundary::guarded;

struct Rules {
    /// (namespace, name, expected): the functions the rules come from
    guards: Vec<(Py<PyAny>, Py<PyAny>, Py<PyAny>)>,
    sync_cls: Py<PyAny>,
    async_cls: Py<PyAny>,
    parent_ref: Py<PyAny>,
    tags: Py<PyAny>,
    metadata: Py<PyAny>,
    enabled: Py<PyAny>,
    ls_context: Py<PyAny>,
    tracer_v2: Py<PyAny>,
    hooks: Py<PyAny>,
    lc_globals: Py<PyAny>,
    get_env_var: Py<PyAny>,
}

/// `None`: the installed rules are not the ones followed here.
static RULES: PyOnceLock<Option<Rules>> = PyOnceLock::new();

fn rules(py: Python<'_>) -> PyResult<Option<&'static Rules>> {
    let r = RULES.get_or_try_init(py, || -> PyResult<Option<Rules>> {
        let d = py.import("langgraph_rs._callback_rules")?.call_method0(pyo3::intern!(py, "native_rules"))?;
        if d.is_none() {
            return Ok(None);
        }
        let d = d.cast_into::<PyDict>()?;
        let get = |k: &str| -> PyResult<Py<PyAny>> {
            Ok(d.get_item(k)?.ok_or_else(|| pyo3::exceptions::PyKeyError::new_err(k.to_string()))?.unbind())
        };
        let mut guards = Vec::new();
        for g in get("guards")?.bind(py).try_iter()? {
            let g = g?.cast_into::<PyTuple>()?;
            guards.push((g.get_item(0)?.unbind(), g.get_item(1)?.unbind(), g.get_item(2)?.unbind()));
        }
        Ok(Some(Rules {
            guards,
            sync_cls: get("sync_cls")?,
            async_cls: get("async_cls")?,
            parent_ref: get("parent_ref")?,
            tags: get("tags")?,
            metadata: get("metadata")?,
            enabled: get("enabled")?,
            ls_context: get("ls_context")?,
            tracer_v2: get("tracer_v2")?,
            hooks: get("hooks")?,
            lc_globals: get("lc_globals")?,
            get_env_var: get("get_env_var")?,
        }))
    })?;
    Ok(r.as_ref())
}

/// langchain-core's `env_var_is_set`: present and not "", "0", "false", "False".
fn env_var_is_set(name: &str) -> bool {
    match std::env::var_os(name) {
        Some(v) => !matches!(v.to_str(), Some("" | "0" | "false" | "False")),
        None => false,
    }
}

fn var_get<'py>(var: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    var.call_method0(pyo3::intern!(var.py(), "get"))
}

/// Whether any rule of `_configure` (called with the config's callbacks, no
/// local callbacks, verbose off) would add a handler, or read anything but
/// the config's tags and metadata.
fn adds_handlers(py: Python<'_>, r: &Rules, config: &Bound<'_, PyDict>) -> PyResult<bool> {
    for (ns, name, expected) in &r.guards {
        match ns.bind(py).get_item(name.bind(py)) {
            Ok(v) if v.is(expected.bind(py)) => {}
            _ => return Ok(true),
        }
    }
    // the config's callbacks
    if let Some(cb) = config.get_item(pyo3::intern!(py, "callbacks"))? {
        if cb.is_truthy()? {
            return Ok(true);
        }
    }
    // langsmith's tracing context: a parent run, its tags and metadata
    if !var_get(r.parent_ref.bind(py))?.is_none()
        || var_get(r.tags.bind(py))?.is_truthy()?
        || var_get(r.metadata.bind(py))?.is_truthy()?
    {
        return Ok(true);
    }
    // v1 tracing (an error) and a v2 tracer set in the context
    if env_var_is_set("LANGCHAIN_TRACING") || env_var_is_set("LANGCHAIN_HANDLER") {
        return Ok(true);
    }
    if !var_get(r.tracer_v2.bind(py))?.is_none() {
        return Ok(true);
    }
    // langsmith's tracing_is_enabled: the context, the global setting, the
    // environment (its cached get_env_var, as langsmith reads it)
    let enabled = var_get(r.enabled.bind(py))?;
    let tracing = if !enabled.is_none() {
        enabled.is_truthy()?
    } else {
        let global = r.ls_context.bind(py).getattr(pyo3::intern!(py, "_GLOBAL_TRACING_ENABLED"))?;
        if !global.is_none() {
            global.is_truthy()?
        } else {
            let get_env_var = r.get_env_var.bind(py);
            let kw = PyDict::new(py);
            kw.set_item(pyo3::intern!(py, "default"), "")?;
            let fallback = get_env_var.call((pyo3::intern!(py, "TRACING"),), Some(&kw))?;
            let kw = PyDict::new(py);
            kw.set_item(pyo3::intern!(py, "default"), fallback)?;
            let v2 = get_env_var.call((pyo3::intern!(py, "TRACING_V2"),), Some(&kw))?;
            v2.eq("true")?
        }
    };
    if tracing {
        return Ok(true);
    }
    // debug (langchain_core.globals.get_debug())
    if r.lc_globals.bind(py).getattr(pyo3::intern!(py, "_debug"))?.is_truthy()? {
        return Ok(true);
    }
    // configure hooks: a handler in its context variable, or made from the environment
    for hook in r.hooks.bind(py).try_iter()? {
        let hook = hook?;
        let var = hook.get_item(0)?;
        let handler_class = hook.get_item(2)?;
        let env_var = hook.get_item(3)?;
        if !var_get(&var)?.is_none() {
            return Ok(true);
        }
        if !env_var.is_none() && !handler_class.is_none() && env_var_is_set(&env_var.extract::<String>()?) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `get_(async_)callback_manager_for_config(config)` plus the
/// `ls_integration` metadata, when no rule adds a handler; else None.
#[pyfunction]
pub fn plain_callback_manager<'py>(config: &Bound<'py, PyDict>, is_async: bool) -> PyResult<Option<Bound<'py, PyAny>>> {
    guarded("plain_callback_manager", || {
        let py = config.py();
        let Some(r) = rules(py)? else { return Ok(None) };
        if adds_handlers(py, r, config)? {
            return Ok(None);
        }
        let cls = if is_async { r.async_cls.bind(py) } else { r.sync_cls.bind(py) };
        let nc = crate::node_config::imports(py)?;
        // BaseCallbackManager.__init__(handlers=[], parent_run_id=None)
        let m = crate::runtime::object_new(cls)?;
        m.setattr(pyo3::intern!(py, "handlers"), PyList::empty(py))?;
        m.setattr(pyo3::intern!(py, "inheritable_handlers"), PyList::empty(py))?;
        m.setattr(pyo3::intern!(py, "parent_run_id"), py.None())?;
        let tags = PyList::empty(py);
        let inheritable_tags = PyList::empty(py);
        // add_tags(config tags): from empty lists, nothing is removed first
        if let Some(t) = config.get_item(pyo3::intern!(py, "tags"))? {
            if t.is_truthy()? {
                for tag in t.try_iter()? {
                    let tag = tag?;
                    tags.append(&tag)?;
                    inheritable_tags.append(tag)?;
                }
            }
        }
        m.setattr(pyo3::intern!(py, "tags"), tags)?;
        m.setattr(pyo3::intern!(py, "inheritable_tags"), inheritable_tags)?;
        // add_metadata(config metadata), add_metadata({}, inherit=False), then
        // LangGraph's add_metadata({"ls_integration": "langgraph"}) unless set
        let mut metadata = PyDict::new(py).into_any();
        let mut inheritable_metadata = PyDict::new(py).into_any();
        let empty = PyDict::new(py).into_any();
        if let Some(md) = config.get_item(pyo3::intern!(py, "metadata"))? {
            if crate::runtime::truthy(&md)? {
                metadata = crate::node_config::merge_metadata_dicts(nc, &metadata, &md)?;
                metadata = crate::node_config::merge_metadata_dicts(nc, &metadata, &empty)?;
                inheritable_metadata = crate::node_config::merge_metadata_dicts(nc, &inheritable_metadata, &md)?;
            }
        }
        if !metadata.contains(pyo3::intern!(py, "ls_integration"))? {
            let ls = PyDict::new(py);
            ls.set_item(pyo3::intern!(py, "ls_integration"), pyo3::intern!(py, "langgraph"))?;
            let ls = ls.into_any();
            metadata = crate::node_config::merge_metadata_dicts(nc, &metadata, &ls)?;
            inheritable_metadata = crate::node_config::merge_metadata_dicts(nc, &inheritable_metadata, &ls)?;
        }
        m.setattr(pyo3::intern!(py, "metadata"), metadata)?;
        m.setattr(pyo3::intern!(py, "inheritable_metadata"), inheritable_metadata)?;
        Ok(Some(m))
    })
}
