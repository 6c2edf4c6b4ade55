//! Channel versions: LangGraph uses ints (no checkpointer / base saver) or
//! strings (`"%032d.%016f"`, InMemorySaver and the SQL savers).

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

/// A string version, shared: a version is copied into every map that records
/// it (a channel's, the checkpoint's, each node's seen), and a copy is a
/// reference count.
#[derive(Clone, Debug, Eq, Hash)]
pub enum Version {
    Int(i64),
    Str(Arc<str>),
}

static EMPTY: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));

impl Version {
    /// `type(v)()`: the version an unseen channel compares against.
    pub fn null_like(&self) -> Version {
        match self {
            Version::Int(_) => Version::Int(0),
            Version::Str(_) => Version::Str(EMPTY.clone()),
        }
    }
}

/// Equal by value; a string version shared by two maps is known equal
/// without reading it.
impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Version::Int(a), Version::Int(b)) => a == b,
            (Version::Str(a), Version::Str(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Version::Int(a), Version::Int(b)) => a.cmp(b),
            (Version::Str(a), Version::Str(b)) => a.cmp(b),
            // Python would raise on a mixed comparison; ints sort first.
            (Version::Int(_), Version::Str(_)) => Ordering::Less,
            (Version::Str(_), Version::Int(_)) => Ordering::Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_matches_python() {
        assert!(Version::Int(2) > Version::Int(1));
        assert!(Version::Str("00000000000000000000000000000002.1".into())
            > Version::Str("00000000000000000000000000000001.9".into()));
        assert_eq!(Version::Int(5).null_like(), Version::Int(0));
        assert_eq!(Version::Str("x".into()).null_like(), Version::Str("".into()));
    }

    #[test]
    fn equality_is_by_value_whether_shared_or_not() {
        let a = Version::Str("00000000000000000000000000000002.5".into());
        let shared = a.clone();
        let copied = Version::Str("00000000000000000000000000000002.5".into());
        let other = Version::Str("00000000000000000000000000000003.5".into());
        assert_eq!(a, shared);
        assert_eq!(a, copied);
        assert_ne!(a, other);
        assert_ne!(Version::Int(2), Version::Str("2".into()));
        assert_eq!(Version::Int(2), Version::Int(2));
    }
}
