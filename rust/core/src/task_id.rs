//! LangGraph's task ids: `_algo._xxhash_str`, an XXH3-128 of the checkpoint id
//! bytes followed by the parts, shown as a UUID.

use xxhash_rust::xxh3::xxh3_128;

/// The 16 bytes of a checkpoint id (`binascii.unhexlify(id.replace("-", ""))`).
pub fn checkpoint_id_bytes(checkpoint_id: &str) -> Option<Vec<u8>> {
    let hex: Vec<u8> = checkpoint_id.bytes().filter(|b| *b != b'-').collect();
    if hex.len() % 2 != 0 {
        return None;
    }
    let val = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    hex.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

/// Which hash a checkpoint's task ids use: `checkpoint["v"] > 1` uses XXH3,
/// older checkpoints SHA-1 (`_uuid5_str`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum IdScheme {
    #[default]
    Xxh3,
    Sha1,
}

pub fn task_id<S: AsRef<str>>(namespace: &[u8], parts: &[S]) -> String {
    task_id_with(IdScheme::Xxh3, namespace, parts)
}

pub fn task_id_with<S: AsRef<str>>(scheme: IdScheme, namespace: &[u8], parts: &[S]) -> String {
    let mut buf = Vec::with_capacity(namespace.len() + 64);
    buf.extend_from_slice(namespace);
    for p in parts {
        buf.extend_from_slice(p.as_ref().as_bytes());
    }
    let hex = match scheme {
        IdScheme::Xxh3 => format!("{:032x}", xxh3_128(&buf)),
        IdScheme::Sha1 => sha1_smol::Sha1::from(&buf).digest().to_string(),
    };
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_langgraph() {
        // langgraph.pregel._algo._xxhash_str(unhexlify("1ef4f797...".replace("-","")), "a", "1", "a", "__pregel_pull", "branch:to:a")
        let ns = checkpoint_id_bytes("1ef4f797-8335-6428-8001-8a1503f9b875").unwrap();
        assert_eq!(ns.len(), 16);
        let id = task_id(&ns, &["a", "1", "a", "__pregel_pull", "branch:to:a"]);
        assert_eq!(id, EXPECTED);
    }

    #[test]
    fn sha1_ids_match_langgraph_v1() {
        let ns = checkpoint_id_bytes("1ef4f797-8335-6428-8001-8a1503f9b875").unwrap();
        let id = task_id_with(IdScheme::Sha1, &ns, &["a", "1", "a", "__pregel_pull", "branch:to:a"]);
        assert_eq!(id, EXPECTED_V1);
    }

    const EXPECTED: &str = include_str!("../testdata/task_id.txt");
    const EXPECTED_V1: &str = include_str!("../testdata/task_id_v1.txt");
}
