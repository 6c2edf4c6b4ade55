//! Checkpoint ids: LangGraph's `str(uuid6(clock_seq=step))`
//! (`langgraph.checkpoint.base.id`), made natively.
//!
//! The timestamp sequence is LangGraph's own: the last timestamp handed out
//! lives in that module's `_last_v6_timestamp`, read and written here under
//! the GIL, so ids from this engine and from LangGraph's `uuid6` (the state
//! APIs, a saver) interleave in one increasing order. The 48-bit node is
//! random per id, as there.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyInt, PyString};

use crate::boundary::guarded;

/// 100-ns intervals between the UUID epoch (1582-10-15) and the Unix epoch.
const UUID_EPOCH_OFFSET: u128 = 0x01B2_1DD2_1381_4000;

struct Imports {
    module: Py<PyModule>,
    last: Py<PyString>,
}

static IMPORTS: PyOnceLock<Imports> = PyOnceLock::new();

fn imports(py: Python<'_>) -> PyResult<&'static Imports> {
    IMPORTS.get_or_try_init(py, || {
        Ok(Imports {
            module: py.import("langgraph.checkpoint.base.id")?.unbind(),
            last: PyString::intern(py, "_last_v6_timestamp").unbind(),
        })
    })
}

thread_local! {
    static RNG: Cell<u64> = Cell::new({
        let mut h = RandomState::new().build_hasher();
        h.write_u64(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0));
        h.finish()
    });
}

/// SplitMix64: 64 fresh bits per call.
fn random_u64() -> u64 {
    RNG.with(|state| {
        let s = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(s);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
}

/// The UUIDv6 integer of `uuid6(node, clock_seq)` at `timestamp`.
pub fn uuid6_int(timestamp: u128, clock_seq: i64, node: u64) -> u128 {
    let time_high_and_mid = (timestamp >> 12) & 0xFFFF_FFFF_FFFF;
    let time_low = timestamp & 0x0FFF;
    // Python's `clock_seq & 0x3FFF` on a negative int is two's complement too
    let clock_seq = (clock_seq & 0x3FFF) as u128;
    let mut v = time_high_and_mid << 80 | time_low << 64 | clock_seq << 48 | (node as u128 & 0xFFFF_FFFF_FFFF);
    // RFC 4122 variant, version 6
    v &= !(0xC000u128 << 48);
    v |= 0x8000u128 << 48;
    v &= !(0xF000u128 << 64);
    v |= 6u128 << 76;
    v
}

use langgraph_rs_core::task_id::uuid_string as uuid_str;

/// `str(uuid6(clock_seq=clock_seq))`.
#[pyfunction]
pub fn checkpoint_id(py: Python<'_>, clock_seq: i64) -> PyResult<String> {
    guarded("checkpoint_id", || new_id(py, clock_seq))
}

/// The last timestamp this module handed out, as stored in LangGraph's
/// module and as a number (read back without converting while the module
/// still holds that very object).
static LAST: Mutex<Option<(Py<PyAny>, u128)>> = Mutex::new(None);

/// [`checkpoint_id`], for the engine's own callers.
pub(crate) fn new_id(py: Python<'_>, clock_seq: i64) -> PyResult<String> {
    let im = imports(py)?;
    let module = im.module.bind(py);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut timestamp = now / 100 + UUID_EPOCH_OFFSET;
    let last = module.getattr(im.last.bind(py))?;
    if !last.is_none() {
        // (the lock is held only while no Python code can run)
        let known = LAST
            .lock()
            .map_err(|_| crate::boundary::poisoned())?
            .as_ref()
            .and_then(|(obj, n)| obj.is(&last).then_some(*n));
        let last: u128 = match known {
            Some(n) => n,
            None => last.extract()?,
        };
        if timestamp <= last {
            timestamp = last + 1;
        }
    }
    let stored = PyInt::new(py, timestamp).into_any();
    module.setattr(im.last.bind(py), &stored)?;
    *LAST.lock().map_err(|_| crate::boundary::poisoned())? = Some((stored.unbind(), timestamp));
    Ok(uuid_str(uuid6_int(timestamp, clock_seq, random_u64())))
}

/// The UTC calendar date and time of `secs` seconds after the Unix epoch
/// (Howard Hinnant's `civil_from_days`).
pub fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

/// `datetime.fromtimestamp(t, timezone.utc).isoformat()` for `t` given as
/// whole seconds and microseconds: the fraction only when it is not zero.
pub fn iso_utc(secs: u64, micros: u32) -> String {
    let (y, mo, d, h, mi, s) = civil(secs);
    // (digits written in place: `format!` took most of a checkpoint's `ts`)
    let mut out = [0u8; 32];
    let mut n = 0;
    let mut put = |v: u64, width: usize, sep: u8| {
        for i in (0..width).rev() {
            out[n + i] = b'0' + (v / 10u64.pow((width - 1 - i) as u32) % 10) as u8;
        }
        n += width;
        if sep != 0 {
            out[n] = sep;
            n += 1;
        }
    };
    put(y.clamp(0, 9999) as u64, 4, b'-');
    put(mo as u64, 2, b'-');
    put(d as u64, 2, b'T');
    put(h as u64, 2, b':');
    put(mi as u64, 2, b':');
    if micros == 0 {
        put(s as u64, 2, 0);
    } else {
        put(s as u64, 2, b'.');
        put(micros as u64, 6, 0);
    }
    let mut text = String::with_capacity(n + 6);
    text.push_str(std::str::from_utf8(&out[..n]).unwrap_or_default());
    text.push_str("+00:00");
    text
}

/// `datetime.now(timezone.utc).isoformat()`: a checkpoint's `ts`.
#[pyfunction]
pub fn now_iso() -> PyResult<String> {
    guarded("now_iso", || {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        Ok(iso_utc(now.as_secs(), now.subsec_micros()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_pythons_isoformat() {
        // datetime.fromtimestamp(t, timezone.utc).isoformat()
        assert_eq!(iso_utc(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_utc(1_795_869_980, 123), "2026-11-28T12:46:20.000123+00:00");
        assert_eq!(iso_utc(951_782_400, 500_000), "2000-02-29T00:00:00.500000+00:00");
        assert_eq!(iso_utc(4_102_444_799, 999_999), "2099-12-31T23:59:59.999999+00:00");
    }

    #[test]
    fn layout_matches_langgraphs_uuid6() {
        // uuid6(node=0x123456789abc, clock_seq=5) at timestamp 0x1f0e1d2c3b4a5968
        // (computed with langgraph.checkpoint.base.id)
        let v = uuid6_int(0x1f0e_1d2c_3b4a_5968, 5, 0x1234_5678_9abc);
        assert_eq!(uuid_str(v), "f0e1d2c3-b4a5-6968-8005-123456789abc");
        // a negative clock_seq masks as in Python
        let v = uuid6_int(0x1f0e_1d2c_3b4a_5968, -1, 0);
        assert_eq!(uuid_str(v), "f0e1d2c3-b4a5-6968-bfff-000000000000");
    }
}
