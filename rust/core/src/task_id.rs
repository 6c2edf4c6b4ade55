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
    match scheme {
        IdScheme::Xxh3 => uuid_string(xxh3_128(&buf)),
        IdScheme::Sha1 => {
            let d = sha1_smol::Sha1::from(&buf).digest().bytes();
            let mut v = 0u128;
            for b in &d[..16] {
                v = v << 8 | u128::from(*b);
            }
            uuid_string(v)
        }
    }
}

/// `str(uuid.UUID(int=v))`: 32 lowercase hex digits in 8-4-4-4-12 groups.
pub fn uuid_string(v: u128) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut j = 0;
    for i in 0..32 {
        if i == 8 || i == 12 || i == 16 || i == 20 {
            out[j] = b'-';
            j += 1;
        }
        out[j] = HEX[((v >> (124 - 4 * i)) & 0xF) as usize];
        j += 1;
    }
    // ASCII only: always valid UTF-8
    String::from_utf8(out.to_vec()).expect("hex digits and dashes are ASCII")
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
        let id = task_id_with(
            IdScheme::Sha1,
            &ns,
            &["a", "1", "a", "__pregel_pull", "branch:to:a"],
        );
        assert_eq!(id, EXPECTED_V1);
    }

    #[test]
    fn uuid_string_is_python_str_of_uuid() {
        // str(uuid.UUID(int=0x0123456789abcdef0011223344556677))
        assert_eq!(
            uuid_string(0x0123_4567_89ab_cdef_0011_2233_4455_6677),
            "01234567-89ab-cdef-0011-223344556677"
        );
        assert_eq!(uuid_string(0), "00000000-0000-0000-0000-000000000000");
    }

    const EXPECTED: &str = include_str!("../testdata/task_id.txt");
    const EXPECTED_V1: &str = include_str!("../testdata/task_id_v1.txt");
}
