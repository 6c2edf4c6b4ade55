//! A test hook: a one-shot panic armed at a named engine operation.
//!
//! It exists so that tests can prove that a panic inside the engine reaches
//! the embedder as an ordinary error and leaves the process usable. It is
//! compiled into every build (release included) so those tests run wherever
//! the engine does; unarmed, [`check`] costs one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};

/// An engine operation the hook can panic in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// `State::apply_writes`, after `versions_seen` was updated and before
    /// the next version is asked for and any channel changes.
    ApplyWrites = 1,
    /// `State::prepare` (task planning).
    Prepare = 2,
    /// Checkpoint assembly in the embedder, while the state is read.
    Checkpoint = 3,
}

impl Op {
    pub const ALL: [Op; 3] = [Op::ApplyWrites, Op::Prepare, Op::Checkpoint];

    pub fn name(self) -> &'static str {
        match self {
            Op::ApplyWrites => "apply_writes",
            Op::Prepare => "prepare",
            Op::Checkpoint => "checkpoint",
        }
    }

    pub fn from_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.name() == name)
    }
}

/// 0 = nothing armed, else the `Op` discriminant. Process-wide: the next call
/// of that operation on any thread panics, once.
static ARMED: AtomicU8 = AtomicU8::new(0);

/// Arm a one-shot panic at the next `op` (`None` disarms).
pub fn arm(op: Option<Op>) {
    ARMED.store(op.map_or(0, |o| o as u8), Ordering::SeqCst);
}

/// The operation currently armed, if any.
pub fn armed() -> Option<Op> {
    let v = ARMED.load(Ordering::SeqCst);
    Op::ALL.into_iter().find(|op| *op as u8 == v)
}

/// Called at `op`: panics if `op` is armed (and disarms it).
#[inline]
pub fn check(op: Op) {
    if ARMED.load(Ordering::Relaxed) == op as u8 {
        fire(op);
    }
}

#[cold]
#[inline(never)]
fn fire(op: Op) {
    if ARMED.compare_exchange(op as u8, 0, Ordering::SeqCst, Ordering::Relaxed).is_ok() {
        panic!("injected panic in {} (test hook)", op.name());
    }
}
