//! Python sequences read without iterator objects: a superstep reads a few
//! short lists (tags, writes), and an iterator made and freed per read costs
//! more than the read itself.

use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// `any(hit(x) for x in seq)`: in order, stopping at the first hit or error.
/// A list is read by index with its length read each time (as its iterator
/// does: `hit` may change it), a tuple by index, anything else through the
/// iteration protocol.
pub(crate) fn any<'py>(
    seq: &Bound<'py, PyAny>,
    mut hit: impl FnMut(Bound<'py, PyAny>) -> PyResult<bool>,
) -> PyResult<bool> {
    if let Ok(list) = seq.cast::<PyList>() {
        let mut i = 0;
        while i < list.len() {
            if hit(list.get_item(i)?)? {
                return Ok(true);
            }
            i += 1;
        }
        return Ok(false);
    }
    if let Ok(tuple) = seq.cast::<PyTuple>() {
        for x in tuple.iter() {
            if hit(x)? {
                return Ok(true);
            }
        }
        return Ok(false);
    }
    for x in seq.try_iter()? {
        if hit(x?)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `for x in seq: f(x)`, read as [`any`] reads it.
pub(crate) fn for_each<'py>(
    seq: &Bound<'py, PyAny>,
    mut f: impl FnMut(Bound<'py, PyAny>) -> PyResult<()>,
) -> PyResult<()> {
    any(seq, |x| f(x).map(|()| false)).map(|_| ())
}

/// `list(seq)`: one copy for a list or tuple, the iteration protocol for the
/// rest (CPython's `PySequence_List`).
pub(crate) fn to_list<'py>(seq: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    // SAFETY: `seq` is a valid object and the GIL is held; the result is a
    // new reference or NULL with an exception set.
    unsafe {
        Bound::from_owned_ptr_or_err(seq.py(), pyo3::ffi::PySequence_List(seq.as_ptr()))
            .map(|l| l.cast_into_unchecked::<PyList>())
    }
}
