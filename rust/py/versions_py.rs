//! A checkpoint's `channel_versions` and `versions_seen` as Python dicts,
//! made from the ones of the run's previous checkpoint.
//!
//! Every checkpoint needs its own dicts (a saver may keep them), but between
//! two checkpoints only the channels a step wrote and the nodes it ran change.
//! `KeptVersions` keeps one dict per versions map, updated entry by entry as
//! the versions change, and hands out copies: a `dict.copy()` instead of
//! a new string key and value for every channel and every node's every
//! channel at every step (on a 100-node chain with a saver that was most of a
//! step's instructions).

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use langgraph_rs_core as core;
use core::{Name, Version};

pub(crate) fn version_to_py(py: Python<'_>, v: &Version) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Version::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
        Version::Str(s) => PyString::new(py, s).into_any().unbind(),
    })
}

/// `{k: v for k, v in entries}`, a new dict.
pub(crate) fn new_dict<'py>(py: Python<'py>, entries: &[(Name, Version)]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in entries {
        d.set_item(&**k, version_to_py(py, v)?)?;
    }
    Ok(d)
}

/// Whether two names are equal: the graph's shared name (one pointer) in
/// the common case, compared by content otherwise.
fn same_name(a: &Name, b: &Name) -> bool {
    std::sync::Arc::ptr_eq(a, b) || a == b
}

/// One kept dict and the entries it holds (in its order).
struct Kept {
    dict: Py<PyDict>,
    entries: Vec<(Name, Version)>,
}

impl Kept {
    fn new(py: Python<'_>, entries: &[(Name, Version)]) -> PyResult<Kept> {
        Ok(Kept { dict: new_dict(py, entries)?.unbind(), entries: entries.to_vec() })
    }

    /// A copy of the dict for `entries`, after bringing it up to date; a map
    /// whose keys are not the kept ones followed by new ones (it was
    /// replaced) is made anew.
    fn copy_for<'py>(&mut self, py: Python<'py>, entries: &[(Name, Version)]) -> PyResult<Bound<'py, PyDict>> {
        let same_keys = self.entries.len() <= entries.len()
            && self.entries.iter().zip(entries).all(|(a, b)| same_name(&a.0, &b.0));
        if !same_keys {
            *self = Kept::new(py, entries)?;
            return self.dict.bind(py).copy();
        }
        let dict = self.dict.bind(py);
        for (kept, (k, v)) in self.entries.iter_mut().zip(entries) {
            if kept.1 != *v {
                dict.set_item(&**k, version_to_py(py, v)?)?;
                kept.1 = v.clone();
            }
        }
        for (k, v) in &entries[self.entries.len()..] {
            dict.set_item(&**k, version_to_py(py, v)?)?;
            self.entries.push((k.clone(), v.clone()));
        }
        dict.copy()
    }
}

/// The dicts of a run's last checkpoint: its channel versions and, per node,
/// the versions it saw.
#[derive(Default)]
pub(crate) struct KeptVersions {
    versions: Option<Kept>,
    /// per node: its name (and the Python string of it), its versions seen,
    /// and the core's stamp of them when they were last brought up to date
    seen: Vec<(Name, Py<PyString>, Kept, u64)>,
    /// a private copy of the last `versions_seen` handed out: its keys are
    /// those of `seen`, in order, so a copy of it is the next one's start
    /// (each node's entry replaced, no dict grown key by key)
    outer: Option<Py<PyDict>>,
}

impl KeptVersions {
    /// `checkpoint["channel_versions"]`, a new dict.
    pub(crate) fn versions<'py>(&mut self, py: Python<'py>, vs: &core::Versions) -> PyResult<Bound<'py, PyDict>> {
        match &mut self.versions {
            Some(kept) => kept.copy_for(py, &vs.entries),
            None => {
                let kept = Kept::new(py, &vs.entries)?;
                let out = kept.dict.bind(py).copy();
                self.versions = Some(kept);
                out
            }
        }
    }

    /// `checkpoint["versions_seen"]`: a new dict of new dicts. `stamps` are
    /// the core's (`State::seen_stamps`): a node's whose stamp did not move is
    /// copied without comparing its entries.
    pub(crate) fn seen<'py>(
        &mut self,
        py: Python<'py>,
        seen: &[(Name, core::Versions)],
        stamps: &[u64],
    ) -> PyResult<Bound<'py, PyDict>> {
        if self.seen.len() > seen.len() || self.seen.iter().zip(seen).any(|(a, b)| !same_name(&a.0, &b.0)) {
            self.seen.clear(); // the nodes are not the kept ones followed by new ones
            self.outer = None;
        }
        let out = match &self.outer {
            Some(outer) => outer.bind(py).copy()?,
            None => PyDict::new(py),
        };
        for (i, (node, vs)) in seen.iter().enumerate() {
            let stamp = stamps.get(i).copied();
            if i == self.seen.len() {
                let kept = Kept::new(py, &vs.entries)?;
                self.seen.push((node.clone(), PyString::new(py, &**node).unbind(), kept, stamp.unwrap_or(0)));
            }
            let (_, name, kept, kept_stamp) = &mut self.seen[i];
            let copy = match stamp {
                Some(s) if s == *kept_stamp => kept.dict.bind(py).copy()?,
                _ => {
                    let copy = kept.copy_for(py, &vs.entries)?;
                    *kept_stamp = stamp.unwrap_or(0);
                    copy
                }
            };
            out.set_item(name.bind(py), copy)?;
        }
        self.outer = Some(out.copy()?.unbind());
        Ok(out)
    }
}
