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
//! kwargs) are run here; the loop checks that with [`is_native_writer`].

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
    runnable: Py<PyAny>,
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
            channel_write: write.getattr("ChannelWrite")?.unbind(),
            entry: write.getattr("ChannelWriteEntry")?.unbind(),
            tuple_entry: write.getattr("ChannelWriteTupleEntry")?.unbind(),
            send: types.getattr("Send")?.unbind(),
            command: types.getattr("Command")?.unbind(),
            runnable: py.import("langchain_core.runnables")?.getattr("Runnable")?.unbind(),
            passthrough: write.getattr("PASSTHROUGH")?.unbind(),
            skip_write: write.getattr("SKIP_WRITE")?.unbind(),
            invalid_update: py.import("langgraph.errors")?.getattr("InvalidUpdateError")?.unbind(),
            parent_command: py.import("langgraph.errors")?.getattr("ParentCommand")?.unbind(),
            control_branch: py.import("langgraph.graph.state")?.getattr("_control_branch")?.unbind(),
            parent: types.getattr("Command")?.getattr("PARENT")?.unbind(),
            end: py.import("langgraph.constants")?.getattr("END")?.unbind(),
            tasks: key("TASKS")?,
            conf: key("CONF")?,
            key_send: key("CONFIG_KEY_SEND")?,
            get_updates_qualname: PyString::intern(py, "CompiledStateGraph.attach_node.<locals>._get_updates")
                .unbind(),
        })
    })
}

/// Whether `writer.invoke(input, config)` is what [`channel_write`] does: an
/// exact `ChannelWrite`, untraced, with no bound kwargs, running its own `_write`.
#[pyfunction]
pub fn is_native_writer(writer: &Bound<'_, PyAny>) -> PyResult<bool> {
    guarded("is_native_writer", || {
        let py = writer.py();
        let im = imports(py)?;
        if !writer.get_type().is(im.channel_write.bind(py)) {
            return Ok(false);
        }
        if writer.getattr("trace")?.is_truthy()? || writer.getattr("explode_args")?.is_truthy()? {
            return Ok(false);
        }
        if writer.getattr("kwargs")?.is_truthy()? {
            return Ok(false);
        }
        let func = writer.getattr("func")?;
        let own = im.channel_write.bind(py).getattr("_write")?;
        Ok(func.getattr("__func__").map(|f| f.is(&own)).unwrap_or(false)
            && func.getattr("__self__").map(|s| s.is(writer)).unwrap_or(false))
    })
}

/// `ChannelWrite.invoke(input, config)` for a writer [`is_native_writer`]
/// accepted: the writes go to the task's send function; the return value is
/// `input` (a `Runnable` output is invoked, as `RunnableCallable(recurse=True)`
/// does; `recurse=False` leaves that to an async caller, which awaits `ainvoke`).
#[pyfunction]
#[pyo3(signature = (writer, input, config, recurse=true))]
pub fn channel_write<'py>(
    writer: &Bound<'py, PyAny>,
    input: &Bound<'py, PyAny>,
    config: &Bound<'py, PyAny>,
    recurse: bool,
) -> PyResult<Bound<'py, PyAny>> {
    guarded("channel_write", || {
        let py = writer.py();
        let im = imports(py)?;
        let entries: Vec<Bound<'py, PyAny>> = writer.getattr("writes")?.try_iter()?.collect::<PyResult<_>>()?;
        let (entry_cls, tuple_cls, send_cls) =
            (im.entry.bind(py), im.tuple_entry.bind(py), im.send.bind(py));
        let passthrough = im.passthrough.bind(py);
        // validate, as do_write does, before anything is written
        for e in &entries {
            if e.is_instance(entry_cls)? && e.get_item(0)?.eq(im.tasks.bind(py))? {
                return Err(PyErr::from_value(
                    im.invalid_update
                        .bind(py)
                        .call1(("Cannot write to the reserved channel TASKS",))?,
                ));
            }
        }
        let send = config.get_item(im.conf.bind(py))?.get_item(im.key_send.bind(py))?;
        let out = PyList::empty(py);
        for e in &entries {
            if e.is_instance(send_cls)? {
                out.append(PyTuple::new(py, [im.tasks.bind(py).as_any(), e])?)?;
            } else if e.is_instance(tuple_cls)? {
                let mapper = e.get_item(0)?;
                let value = e.get_item(1)?;
                let value = if value.is(passthrough) { input.clone() } else { value };
                map_tuples(im, &mapper, &value, &out)?;
            } else if e.is_instance(entry_cls)? {
                let channel = e.get_item(0)?;
                let value = e.get_item(1)?;
                let value = if value.is(passthrough) { input.clone() } else { value };
                let mapper = e.get_item(3)?;
                let value = if mapper.is_none() { value } else { mapper.call1((value,))? };
                if value.is(im.skip_write.bind(py)) {
                    continue;
                }
                if e.get_item(2)?.is_truthy()? && value.is_none() {
                    continue;
                }
                out.append(PyTuple::new(py, [channel, value])?)?;
            } else {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "Invalid write entry: {}",
                    e.str()?
                )));
            }
        }
        send.call1((out,))?;
        if recurse && writer.getattr("recurse")?.is_truthy()? && input.is_instance(im.runnable.bind(py))? {
            return input.call_method1("invoke", (input, config));
        }
        Ok(input.clone())
    })
}

/// `if ww := mapper(value): out.extend(ww)`, StateGraph's mappers natively.
fn map_tuples<'py>(
    im: &Imports,
    mapper: &Bound<'py, PyAny>,
    value: &Bound<'py, PyAny>,
    out: &Bound<'py, PyList>,
) -> PyResult<()> {
    let py = mapper.py();
    if mapper.is(im.control_branch.bind(py)) {
        return control_branch(im, value, out);
    }
    if let Some(keys) = update_keys(im, mapper)? {
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
    let Ok(qualname) = mapper.getattr("__qualname__") else { return Ok(None) };
    if !qualname.eq(im.get_updates_qualname.bind(py))? {
        return Ok(None);
    }
    let code = mapper.getattr("__code__")?;
    let names = code.getattr("co_freevars")?;
    let closure = mapper.getattr("__closure__")?;
    if closure.is_none() {
        return Ok(None);
    }
    for (i, name) in names.try_iter()?.enumerate() {
        if name?.eq("output_key_set")? {
            let keys = closure.get_item(i)?.getattr("cell_contents")?;
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
        if command.getattr("graph")?.eq(im.parent.bind(py))? {
            return Err(PyErr::from_value(im.parent_command.bind(py).call1((&command,))?));
        }
        let goto = command.getattr("goto")?;
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
