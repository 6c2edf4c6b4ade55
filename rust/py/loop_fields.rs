//! The run's loop object (`langgraph_rs._loop._Loop`, slotted) read and
//! written in place: what the native superstep reads and sets on it every
//! step, at the offsets of its slots, instead of an attribute lookup each.
//!
//! The offsets are found once per loop class, from the member descriptor each
//! name resolves to on that class (`runtime::slot_offset`); a name that is
//! not a plain slot there, and a slot not yet set, go through `getattr` /
//! `setattr` as before, so the values and errors are the same either way.

use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyString, PyType};

use crate::runtime::{get_slot, set_slot, slot_offset};

/// The loop's fields the native superstep reads or sets each step.
#[derive(Clone, Copy)]
pub(crate) enum F {
    Step,
    Stop,
    Tasks,
    Config,
    Checkpointer,
    Checkpoint,
    CheckpointConfig,
    CheckpointMetadata,
    CheckpointPendingWrites,
    Stream,
    State,
    Status,
    Durability,
    DeltaNames,
    Cache,
    Spec,
    ParentNs,
    Lifecycle,
    OutputKeys,
    UpdatedChannels,
    Sha1Ids,
    RetryPolicy,
    Channels,
    IsReplaying,
    InterruptBefore,
    InterruptAfter,
    Control,
    StreamsTasks,
    CallFuts,
    ValuesAtEnd,
    ValuesPending,
    UpdatesForInterrupts,
    StepConsts,
    WrittenTaskIds,
    CheckpointPreviousVersions,
    PrevCheckpointConfig,
}

const NAMES: [&str; 36] = [
    "step",
    "stop",
    "tasks",
    "config",
    "checkpointer",
    "checkpoint",
    "checkpoint_config",
    "checkpoint_metadata",
    "checkpoint_pending_writes",
    "stream",
    "state",
    "status",
    "durability",
    "_delta_names",
    "cache",
    "spec",
    "parent_ns",
    "lifecycle",
    "output_keys",
    "updated_channels",
    "sha1_ids",
    "retry_policy",
    "channels",
    "is_replaying",
    "interrupt_before",
    "interrupt_after",
    "control",
    "streams_tasks",
    "_call_futs",
    "_values_at_end",
    "_values_pending",
    "_updates_for_interrupts",
    "_step_consts",
    "_written_task_ids",
    "checkpoint_previous_versions",
    "prev_checkpoint_config",
];

static INTERNED: PyOnceLock<Vec<Py<PyString>>> = PyOnceLock::new();

fn interned(py: Python<'_>) -> &'static [Py<PyString>] {
    INTERNED.get_or_init(py, || {
        NAMES
            .iter()
            .map(|n| PyString::intern(py, n).unbind())
            .collect()
    })
}

/// One loop class's slot offsets, by field.
struct Layout {
    /// (kept alive, so that its address names it for good)
    cls: Py<PyType>,
    offsets: [Option<isize>; NAMES.len()],
}

/// The loop classes seen so far (a few: the sync and the async loop).
static LAYOUTS: Mutex<Vec<&'static Layout>> = Mutex::new(Vec::new());

/// The layout last looked up: a run's loop class, nearly always.
static LAST: AtomicPtr<Layout> = AtomicPtr::new(std::ptr::null_mut());

fn layout_of(cls: &Bound<'_, PyType>) -> PyResult<&'static Layout> {
    let last = LAST.load(Ordering::Acquire);
    // SAFETY: LAST is null or a leaked (never freed) layout.
    if let Some(l) = unsafe { last.as_ref() } {
        if l.cls.as_ptr() == cls.as_ptr() {
            return Ok(l);
        }
    }
    let found = layout_lookup(cls)?;
    LAST.store(std::ptr::from_ref(found).cast_mut(), Ordering::Release);
    Ok(found)
}

fn layout_lookup(cls: &Bound<'_, PyType>) -> PyResult<&'static Layout> {
    let py = cls.py();
    let mut layouts = LAYOUTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = layouts.iter().find(|l| l.cls.bind(py).is(cls)) {
        return Ok(l);
    }
    let mut offsets = [None; NAMES.len()];
    // a class that takes attribute access over (a debugging subclass, say)
    // keeps it: no field is read or set in place
    let object = py.get_type::<pyo3::types::PyAny>();
    let plain_access = ["__getattribute__", "__setattr__"]
        .iter()
        .map(|m| Ok(cls.getattr(*m)?.is(&object.getattr(*m)?)))
        .collect::<PyResult<Vec<bool>>>()?
        .into_iter()
        .all(|same| same);
    if plain_access {
        for (slot, name) in offsets.iter_mut().zip(interned(py)) {
            *slot = slot_offset(cls.as_any(), name.bind(py))?;
        }
    }
    // a loop class lives as long as the process: its layout too
    let layout: &'static Layout = Box::leak(Box::new(Layout {
        cls: cls.clone().unbind(),
        offsets,
    }));
    layouts.push(layout);
    Ok(layout)
}

/// A loop's fields: read with [`Fields::get`], set with [`Fields::set`].
pub(crate) struct Fields<'a, 'py> {
    obj: &'a Bound<'py, PyAny>,
    layout: &'static Layout,
}

impl<'a, 'py> Fields<'a, 'py> {
    pub(crate) fn of(obj: &'a Bound<'py, PyAny>) -> PyResult<Self> {
        Ok(Fields {
            obj,
            layout: layout_of(&obj.get_type())?,
        })
    }

    pub(crate) fn get(&self, f: F) -> PyResult<Bound<'py, PyAny>> {
        if let Some(offset) = self.layout.offsets[f as usize] {
            // SAFETY: `obj` is an instance of exactly the layout's class,
            // which has an object slot for this field at `offset`.
            if let Some(v) = unsafe { get_slot(self.obj, offset) } {
                return Ok(v);
            }
        }
        self.obj
            .getattr(interned(self.obj.py())[f as usize].bind(self.obj.py()))
    }

    pub(crate) fn set<V>(&self, f: F, value: V) -> PyResult<()>
    where
        V: IntoPyObject<'py>,
        V::Error: Into<PyErr>,
    {
        let py = self.obj.py();
        let value = pyo3::IntoPyObjectExt::into_bound_py_any(value, py)?;
        if let Some(offset) = self.layout.offsets[f as usize] {
            // SAFETY: as in `get`.
            unsafe { set_slot(self.obj, offset, &value) };
            return Ok(());
        }
        self.obj.setattr(interned(py)[f as usize].bind(py), value)
    }

    pub(crate) fn truthy(&self, f: F) -> PyResult<bool> {
        self.get(f)?.is_truthy()
    }

    pub(crate) fn is_none(&self, f: F) -> PyResult<bool> {
        Ok(self.get(f)?.is_none())
    }

    /// The loop object itself (for method calls).
    pub(crate) fn obj(&self) -> &'a Bound<'py, PyAny> {
        self.obj
    }
}
