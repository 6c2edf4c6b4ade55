//! A node's writers, natively: `ChannelWrite.invoke(output, config)` of
//! `langgraph.pregel._write` — each entry turned into `(channel, value)`
//! writes and handed to the task's `CONFIG_KEY_SEND` — with StateGraph's two
//! mappers run in Rust where they are recognised:
//! - `_control_branch` (routing by `Command` / `Send` in a node's output), by
//!   identity;
//! - a node's `_get_updates` closure (`CompiledStateGraph.attach_node`) on a
//!   plain `dict` output, keeping the keys in the closure's `output_key_set`.
//! Any other mapper, and `_get_updates` on anything but a dict, is called.
//!
//! Only writers of the exact class `ChannelWrite` (untraced, no extra
//! kwargs) are run here; [`writer_plan`] checks that once per node.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};

use crate::boundary::guarded;

struct Imports {
    channel_write: Py<PyAny>,
    entry: Py<PyAny>,
    tuple_entry: Py<PyAny>,
    send: Py<PyAny>,
    command: Py<PyAny>,
    passthrough: Py<PyAny>,
    skip_write: Py<PyAny>,
    invalid_update: Py<PyAny>,
    parent_command: Py<PyAny>,
    control_branch: Py<PyAny>,
    parent: Py<PyAny>,
    end: Py<PyAny>,
    tasks: Py<PyString>,
    conf: Py<PyString>,
    key_send: Py<PyString>,
    get_updates_qualname: Py<PyString>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        let write = py.import("langgraph.pregel._write")?;
        let types = py.import("langgraph.types")?;
        let constants = py.import("langgraph._internal._constants")?;
        let key = |name: &str| -> PyResult<Py<PyString>> {
            Ok(constants.getattr(name)?.cast_into::<PyString>()?.unbind())
        };
        Ok(Imports {
            channel_write: write.getattr(pyo3::intern!(py, "ChannelWrite"))?.unbind(),
            entry: write.getattr(pyo3::intern!(py, "ChannelWriteEntry"))?.unbind(),
            tuple_entry: write.getattr(pyo3::intern!(py, "ChannelWriteTupleEntry"))?.unbind(),
            send: types.getattr(pyo3::intern!(py, "Send"))?.unbind(),
            command: types.getattr(pyo3::intern!(py, "Command"))?.unbind(),
            passthrough: write.getattr(pyo3::intern!(py, "PASSTHROUGH"))?.unbind(),
            skip_write: write.getattr(pyo3::intern!(py, "SKIP_WRITE"))?.unbind(),
            invalid_update: py.import("langgraph.errors")?.getattr(pyo3::intern!(py, "InvalidUpdateError"))?.unbind(),
            parent_command: py.import("langgraph.errors")?.getattr(pyo3::intern!(py, "ParentCommand"))?.unbind(),
            control_branch: py.import("langgraph.graph.state")?.getattr(pyo3::intern!(py, "_control_branch"))?.unbind(),
            parent: types.getattr(pyo3::intern!(py, "Command"))?.getattr(pyo3::intern!(py, "PARENT"))?.unbind(),
            end: py.import("langgraph.constants")?.getattr(pyo3::intern!(py, "END"))?.unbind(),
            tasks: key("TASKS")?,
            conf: key("CONF")?,
            key_send: key("CONFIG_KEY_SEND")?,
            get_updates_qualname: PyString::intern(py, "CompiledStateGraph.attach_node.<locals>._get_updates")
                .unbind(),
        })
    })
}

/// What [`channel_write`] runs for `writer`, read once per node: `None` unless
/// `writer.invoke(input, config)` is ChannelWrite's own (an exact
/// `ChannelWrite`, untraced, no bound kwargs, running its `_write`); else
/// `(recurse, writes_tasks, entries)`, each entry one of
/// `(SEND, send)`, `(TUPLE, mapper, value, update_keys | None, is_control_branch)`,
/// `(ENTRY, channel, value, skip_none, mapper)` or `(INVALID, entry)`.
#[pyfunction]
pub fn writer_plan<'py>(writer: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyTuple>>> {
    guarded("writer_plan", || {
        let py = writer.py();
        let im = imports(py)?;
        if !writer.get_type().is(im.channel_write.bind(py))
            || writer.getattr(pyo3::intern!(py, "trace"))?.is_truthy()?
            || writer.getattr(pyo3::intern!(py, "explode_args"))?.is_truthy()?
            || writer.getattr(pyo3::intern!(py, "kwargs"))?.is_truthy()?
        {
            return Ok(None);
        }
        let func = writer.getattr(pyo3::intern!(py, "func"))?;
        let own = im.channel_write.bind(py).getattr(pyo3::intern!(py, "_write"))?;
        if !(func.getattr(pyo3::intern!(py, "__func__")).map(|f| f.is(&own)).unwrap_or(false)
            && func.getattr(pyo3::intern!(py, "__self__")).map(|s| s.is(writer)).unwrap_or(false))
        {
            return Ok(None);
        }
        let mut writes_tasks = false;
        let mut entries = Vec::new();
        for e in writer.getattr(pyo3::intern!(py, "writes"))?.try_iter()? {
            let e = e?;
            let planned = if e.is_instance(im.send.bind(py))? {
                (SEND, e).into_pyobject(py)?.into_any()
            } else if e.is_instance(im.tuple_entry.bind(py))? {
                let mapper = e.get_item(0)?;
                let control = mapper.is(im.control_branch.bind(py));
                let keys = update_keys(im, &mapper)?;
                (TUPLE, mapper, e.get_item(1)?, keys, control).into_pyobject(py)?.into_any()
            } else if e.is_instance(im.entry.bind(py))? {
                let channel = e.get_item(0)?;
                writes_tasks |= channel.eq(im.tasks.bind(py))?;
                let skip_none = e.get_item(2)?.is_truthy()?;
                (ENTRY, channel, e.get_item(1)?, skip_none, e.get_item(3)?).into_pyobject(py)?.into_any()
            } else {
                (INVALID, e).into_pyobject(py)?.into_any()
            };
            entries.push(planned);
        }
        let recurse = writer.getattr(pyo3::intern!(py, "recurse"))?.is_truthy()?;
        Ok(Some((recurse, writes_tasks, PyTuple::new(py, entries)?).into_pyobject(py)?))
    })
}

const SEND: u8 = 0;
const TUPLE: u8 = 1;
const ENTRY: u8 = 2;
const INVALID: u8 = 3;

/// `ChannelWrite.invoke(input, config)` for a writer's [`writer_plan`]: the
/// writes go to the task's send function; the return value is `input` (a
/// `Runnable` output is invoked, as `RunnableCallable(recurse=True)` does;
/// `recurse=False` leaves that to an async caller, which awaits `ainvoke`).
#[pyfunction]
#[pyo3(signature = (plan, input, config, recurse=true))]
pub fn channel_write<'py>(
    plan: &Bound<'py, PyTuple>,
    input: &Bound<'py, PyAny>,
    config: &Bound<'py, PyAny>,
    recurse: bool,
) -> PyResult<Bound<'py, PyAny>> {
    guarded("channel_write", || {
        let py = plan.py();
        let im = imports(py)?;
        let (writer_recurse, writes_tasks, entries): (bool, bool, Bound<'py, PyTuple>) = plan.extract()?;
        // validated as do_write does, before anything is written
        if writes_tasks {
            return Err(PyErr::from_value(
                im.invalid_update.bind(py).call1(("Cannot write to the reserved channel TASKS",))?,
            ));
        }
        let passthrough = im.passthrough.bind(py);
        let send = config.get_item(im.conf.bind(py))?.get_item(im.key_send.bind(py))?;
        let out = PyList::empty(py);
        for e in entries.iter() {
            let e = e.cast_into::<PyTuple>()?;
            let value_at = |i: usize| -> PyResult<Bound<'py, PyAny>> {
                let v = e.get_item(i)?;
                Ok(if v.is(passthrough) { input.clone() } else { v })
            };
            match e.get_item(0)?.extract::<u8>()? {
                SEND => out.append(PyTuple::new(py, [im.tasks.bind(py).as_any(), &e.get_item(1)?])?)?,
                TUPLE => {
                    let (mapper, keys) = (e.get_item(1)?, e.get_item(3)?);
                    let control = e.get_item(4)?.is_truthy()?;
                    map_tuples(&mapper, &value_at(2)?, &keys, control, &out)?;
                }
                ENTRY => {
                    let mapper = e.get_item(4)?;
                    let value = value_at(2)?;
                    let value = if mapper.is_none() { value } else { mapper.call1((value,))? };
                    if value.is(im.skip_write.bind(py)) || (e.get_item(3)?.is_truthy()? && value.is_none()) {
                        continue;
                    }
                    out.append(PyTuple::new(py, [e.get_item(1)?, value])?)?;
                }
                _ => {
                    return Err(pyo3::exceptions::PyValueError::new_err(format!(
                        "Invalid write entry: {}",
                        e.get_item(1)?.str()?
                    )))
                }
            }
        }
        send.call1((out,))?;
        if recurse && writer_recurse && crate::node_config::is_runnable(input)? {
            return input.call_method1(pyo3::intern!(py, "invoke"), (input, config));
        }
        Ok(input.clone())
    })
}

/// `if ww := mapper(value): out.extend(ww)`, StateGraph's mappers natively:
/// `_control_branch`, and a node's `_get_updates` (its `keys`) on a dict.
fn map_tuples<'py>(
    mapper: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
    keys: &Bound<'py, PyAny>,
    control: bool,
    out: &Bound<'py, PyList>,
) -> PyResult<()> {
    let py = mapper.py();
    if control {
        return control_branch(imports(py)?, value, out);
    }
    if !keys.is_none() {
        if let Ok(d) = value.cast_exact::<PyDict>() {
            for (k, v) in d.iter() {
                if keys.contains(&k)? {
                    out.append(PyTuple::new(py, [k, v])?)?;
                }
            }
            return Ok(());
        }
        if value.is_none() {
            return Ok(());
        }
    }
    let ww = mapper.call1((value,))?;
    if ww.is_truthy()? {
        for w in ww.try_iter()? {
            out.append(w?)?;
        }
    }
    Ok(())
}

/// The `output_key_set` a StateGraph node's `_get_updates` closure filters by.
fn update_keys<'py>(im: &Imports, mapper: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let py = mapper.py();
    let Ok(qualname) = mapper.getattr(pyo3::intern!(py, "__qualname__")) else { return Ok(None) };
    if !qualname.eq(im.get_updates_qualname.bind(py))? {
        return Ok(None);
    }
    let code = mapper.getattr(pyo3::intern!(py, "__code__"))?;
    let names = code.getattr(pyo3::intern!(py, "co_freevars"))?;
    let closure = mapper.getattr(pyo3::intern!(py, "__closure__"))?;
    if closure.is_none() {
        return Ok(None);
    }
    for (i, name) in names.try_iter()?.enumerate() {
        if name?.eq("output_key_set")? {
            let keys = closure.get_item(i)?.getattr(pyo3::intern!(py, "cell_contents"))?;
            return Ok(if keys.is_instance_of::<pyo3::types::PyFrozenSet>() { Some(keys) } else { None });
        }
    }
    Ok(None)
}

/// `langgraph.graph.state._control_branch(value)`.
fn control_branch<'py>(im: &Imports, value: &Bound<'py, PyAny>, out: &Bound<'py, PyList>) -> PyResult<()> {
    let py = value.py();
    let tasks = im.tasks.bind(py);
    if value.is_instance(im.send.bind(py))? {
        out.append(PyTuple::new(py, [tasks.as_any(), value])?)?;
        return Ok(());
    }
    let command_cls = im.command.bind(py);
    let mut commands = Vec::new();
    if value.is_instance(command_cls)? {
        commands.push(value.clone());
    } else if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        for cmd in value.try_iter()? {
            let cmd = cmd?;
            if cmd.is_instance(command_cls)? {
                commands.push(cmd);
            }
        }
    }
    for command in commands {
        if command.getattr(pyo3::intern!(py, "graph"))?.eq(im.parent.bind(py))? {
            return Err(PyErr::from_value(im.parent_command.bind(py).call1((&command,))?));
        }
        let goto = command.getattr(pyo3::intern!(py, "goto"))?;
        let targets: Vec<Bound<'py, PyAny>> =
            if goto.is_instance(im.send.bind(py))? || goto.is_instance_of::<PyString>() {
                vec![goto]
            } else {
                goto.try_iter()?.collect::<PyResult<_>>()?
            };
        for go in targets {
            if go.is_instance(im.send.bind(py))? {
                out.append(PyTuple::new(py, [tasks.as_any(), &go])?)?;
            } else if go.is_instance_of::<PyString>() && !go.eq(im.end.bind(py))? {
                let channel = format!("branch:to:{}", go.cast::<PyString>()?.to_str()?);
                out.append(PyTuple::new(py, [PyString::new(py, &channel).into_any(), py.None().into_bound(py)])?)?;
            }
        }
    }
    Ok(())
}
