//! Case-insensitive JSON keys, done once on the whole document.
//!
//! Per-field serde aliases cannot cover every casing LCW and EM have been seen to use
//! (`taskProcessingresult`, PascalCase EM bodies), and the Functions host binds `host.json` and
//! envelope keys case-insensitively, so keys are lower-cased before deserialising.

use serde_json::{Map, Value};

/// Lower-cases every object key, recursively. When two keys collide after lower-casing, the
/// first non-null one wins, so `{"Task": null, "task": {...}}` keeps the object.
pub(crate) fn lowercase_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, value) in map {
                let key = key.to_lowercase();
                let value = lowercase_keys(value);
                match out.get(&key) {
                    Some(existing) if !existing.is_null() => {}
                    _ => {
                        out.insert(key, value);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(lowercase_keys).collect()),
        other => other,
    }
}
