//! One blob per task: `<kind>/<id>.json`, the id percent-encoded so any id is one path segment
//! of a valid blob name (an id is caller input: a `/` or `..` in it must not reach another
//! record).

use super::super::record::TaskKey;

/// The blob holding `key`'s record.
pub(crate) fn blob_name(key: &TaskKey) -> String {
    let mut name = String::with_capacity(key.id.len() + 10);
    name.push_str(key.kind.as_str());
    name.push('/');
    for byte in key.id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_') {
            name.push(char::from(byte));
        } else {
            name.push_str(&format!("%{byte:02X}"));
        }
    }
    name.push_str(".json");
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guids_stay_readable() {
        assert_eq!(
            blob_name(&TaskKey::lcw("3f2c6c8e-0b1a-4a8e-9b7e-1c2d3e4f5a6b")),
            "lcw/3f2c6c8e-0b1a-4a8e-9b7e-1c2d3e4f5a6b.json"
        );
    }

    #[test]
    fn an_id_cannot_leave_its_segment() {
        let name = blob_name(&TaskKey::lcw("../other/x.json?y"));
        assert_eq!(name, "lcw/%2E%2E%2Fother%2Fx%2Ejson%3Fy.json");
        assert_eq!(name.matches('/').count(), 1);
        assert_ne!(
            blob_name(&TaskKey::lcw("a.b")),
            blob_name(&TaskKey::lcw("a%2Eb"))
        );
    }
}
