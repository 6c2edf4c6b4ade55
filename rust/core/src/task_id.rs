//! LangGraph's task ids: `_algo._xxhash_str`, an XXH3-128 of the checkpoint id
//! bytes followed by the parts, shown as a UUID.

use xxhash_rust::xxh3::xxh3_128;

/// The 16 bytes of a checkpoint id (`binascii.unhexlify(id.replace("-", ""))`).
pub fn checkpoint_id_bytes(checkpoint_id: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(16);
    let mut high: Option<u8> = None;
    for c in checkpoint_id.bytes().filter(|b| *b != b'-') {
        let v = val(c)?;
        match high.take() {
            None => high = Some(v),
            Some(h) => out.push(h << 4 | v),
        }
    }
    // an odd number of hex digits is no byte string
    high.is_none().then_some(out)
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
    let mut out = String::with_capacity(36);
    for (i, b) in v.to_be_bytes().into_iter().enumerate() {
        if i == 4 || i == 6 || i == 8 || i == 10 {
            out.push('-');
        }
        out.push(HEX[(b >> 4) as usize] as char);
        out.push(HEX[(b & 0xF) as usize] as char);
    }
    out
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
    fn checkpoint_id_bytes_is_unhexlify() {
        // binascii.unhexlify("1ef4f797-8335-6428-8001-8a1503f9b875".replace("-", ""))
        assert_eq!(
            checkpoint_id_bytes("1ef4f797-8335-6428-8001-8a1503f9b875").unwrap(),
            [
                0x1e, 0xf4, 0xf7, 0x97, 0x83, 0x35, 0x64, 0x28, 0x80, 0x01, 0x8a, 0x15, 0x03, 0xf9,
                0xb8, 0x75
            ]
        );
        assert_eq!(checkpoint_id_bytes("AB-cd").unwrap(), [0xab, 0xcd]);
        assert_eq!(checkpoint_id_bytes("").unwrap(), Vec::<u8>::new());
        assert_eq!(checkpoint_id_bytes("abc"), None); // odd length
        assert_eq!(checkpoint_id_bytes("zz"), None); // not hex
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
