//! Questions the loop asks of a task's writes (a sequence of `(channel, value)`
//! pairs) on every step, answered without entering Python.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

use crate::boundary::guarded;

/// Whether `hit(w[0])` holds for any write `w` (in order, stopping at the
/// first).
fn any_channel<'py>(
    writes: &Bound<'py, PyAny>,
    mut hit: impl FnMut(&Bound<'py, PyAny>) -> PyResult<bool>,
) -> PyResult<bool> {
    crate::py_seq::any(writes, |w| {
        let c = match w.cast::<PyTuple>() {
            Ok(t) if !t.is_empty() => t.get_item(0)?,
            _ => w.get_item(0)?,
        };
        hit(&c)
    })
}

/// `all(w[0] in names for w in writes)`.
#[pyfunction]
pub fn all_written_in(writes: &Bound<'_, PyAny>, names: &Bound<'_, PyAny>) -> PyResult<bool> {
    guarded("all_written_in", || Ok(!any_channel(writes, |c| Ok(!names.contains(c)?))?))
}

/// `any(w[0] in names for w in writes)`; `names` a str means `w[0] == names`.
#[pyfunction]
pub fn any_written_in(writes: &Bound<'_, PyAny>, names: &Bound<'_, PyAny>) -> PyResult<bool> {
    guarded("any_written_in", || {
        if names.is_instance_of::<pyo3::types::PyString>() {
            return any_channel(writes, |c| c.eq(names));
        }
        any_channel(writes, |c| names.contains(c))
    })
}

/// `any(k in keys for k in channels)`; `keys` a str means `keys in channels`.
#[pyfunction]
pub fn any_in(channels: &Bound<'_, PyAny>, keys: &Bound<'_, PyAny>) -> PyResult<bool> {
    guarded("any_in", || {
        if keys.is_instance_of::<pyo3::types::PyString>() {
            return channels.contains(keys);
        }
        crate::py_seq::any(channels, |k| keys.contains(k))
    })
}

/// `c, v = w`, with Python's errors for anything but two items.
fn unpack_pair<'py>(w: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(t) = w.cast::<PyTuple>() {
        if t.len() == 2 {
            return Ok((t.get_item(0)?, t.get_item(1)?));
        }
    }
    let items: Vec<Bound<'py, PyAny>> = w.try_iter()?.take(3).collect::<PyResult<_>>()?;
    match <[Bound<'py, PyAny>; 2]>::try_from(items) {
        Ok([c, v]) => Ok((c, v)),
        Err(items) if items.len() > 2 => {
            Err(PyValueError::new_err("too many values to unpack (expected 2)"))
        }
        Err(items) => Err(PyValueError::new_err(format!(
            "not enough values to unpack (expected 2, got {})",
            items.len()
        ))),
    }
}

/// `pending.extend((task_id, c, v) for c, v in writes)`.
#[pyfunction]
pub fn extend_pending(pending: &Bound<'_, PyList>, task_id: &Bound<'_, PyAny>, writes: &Bound<'_, PyAny>) -> PyResult<()> {
    guarded("extend_pending", || {
        for w in writes.try_iter()? {
            let w = w?;
            let (c, v) = unpack_pair(&w)?;
            pending.append(PyTuple::new(w.py(), [task_id.clone(), c, v])?)?;
        }
        Ok(())
    })
}
