//! The `callout` function's envelope read in one pass, straight from the request bytes.
//!
//! The acknowledgement path decodes an envelope per callout, so it builds no `serde_json::Value`
//! tree: the visitors below walk the envelope once, keep only the two things the handler uses
//! (the `Authorization` header and the callout body), borrow them from the request bytes where
//! JSON allows it, and skip everything else without allocating. The body string is unescaped
//! once here and parsed once, by the acceptor. The host's quirks are the same as for
//! [`InvocationRequest`](super::InvocationRequest) (docs/protocol.md §8.4, §8.5): keys match
//! case-insensitively, header values are arrays, and a body may arrive encoded once more or as
//! a JSON object.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::EnvelopeError;

/// What the handler uses of an HTTP trigger's envelope (`Data.<binding>`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct HttpTrigger<'a> {
    authorization: Option<Cow<'a, str>>,
    body: Cow<'a, str>,
}

impl<'a> HttpTrigger<'a> {
    /// Reads the envelope in `bytes`, whose HTTP trigger binding is `binding`. A binding that is
    /// not an object is an empty request (no header, no body), as the host never sends one.
    pub fn parse(bytes: &'a [u8], binding: &'static str) -> Result<HttpTrigger<'a>, EnvelopeError> {
        let mut deserializer = serde_json::Deserializer::from_slice(bytes);
        let found = deserializer
            .deserialize_map(EnvelopeVisitor { binding })
            .and_then(|found| deserializer.end().map(|()| found))
            .map_err(|e| EnvelopeError::NotJson(e.to_string()))?;
        let request = found.ok_or(EnvelopeError::MissingBinding(binding))?;
        Ok(request.unwrap_or_default())
    }

    /// The first value of the `Authorization` header, if any.
    pub fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }

    /// The callout body as text (empty when there was none).
    pub fn body(&self) -> &[u8] {
        self.body.as_bytes()
    }
}

/// Which of two keys that both match case-insensitively is kept: the exact spelling wins, else
/// the first seen (the rule of [`get_ci`](super::get_ci)).
fn better_match(key: &str, wanted: &str, have_exact: bool, have_any: bool) -> bool {
    if key == wanted {
        !have_exact
    } else {
        !have_any && key.eq_ignore_ascii_case(wanted)
    }
}

/// Visitor methods that answer `None` for the JSON kinds a field may not usefully have: the
/// host never sends them, and an envelope is not refused for what the handler does not read.
macro_rules! ignore_other_kinds {
    (scalars) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
    (str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
    (seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
    (map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    };
}

/// A string borrowed from the input when it has no escapes, unescaped once otherwise.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// The top level: finds `Data` and, in it, the binding; everything else is skipped.
/// `None`: no binding. `Some(None)`: the binding is there but not an object.
struct EnvelopeVisitor {
    binding: &'static str,
}

type Found<'de> = Option<Option<HttpTrigger<'de>>>;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an invocation request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut found, mut exact, mut any) = (None, false, false);
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if better_match(&key, "Data", exact, any) {
                found = map.next_value_seed(DataSeed {
                    binding: self.binding,
                })?;
                exact |= key == "Data";
                any = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// `Data`: an object holding the binding; anything else holds nothing.
struct DataSeed {
    binding: &'static str,
}

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Found<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = Found<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the Data object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut found, mut exact, mut any) = (None, false, false);
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if better_match(&key, self.binding, exact, any) {
                found = Some(map.next_value_seed(RequestSeed)?);
                exact |= key == self.binding;
                any = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    ignore_other_kinds!(seq);
    ignore_other_kinds!(str);
    ignore_other_kinds!(scalars);
}

/// The trigger object (`Data.req`): `Headers` and `Body`.
struct RequestSeed;

impl<'de> DeserializeSeed<'de> for RequestSeed {
    type Value = Option<HttpTrigger<'de>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RequestSeed {
    type Value = Option<HttpTrigger<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the HTTP trigger object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut request = HttpTrigger::default();
        let (mut headers_exact, mut headers_any) = (false, false);
        let (mut body_exact, mut body_any) = (false, false);
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if better_match(&key, "Headers", headers_exact, headers_any) {
                request.authorization = map.next_value_seed(HeadersSeed)?;
                headers_exact |= key == "Headers";
                headers_any = true;
            } else if better_match(&key, "Body", body_exact, body_any) {
                request.body = map.next_value_seed(BodySeed)?;
                body_exact |= key == "Body";
                body_any = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(request))
    }

    ignore_other_kinds!(seq);
    ignore_other_kinds!(str);
    ignore_other_kinds!(scalars);
}

/// `Headers`: an object whose values are arrays of strings (the host) or strings (the docs);
/// yields the first `Authorization` value.
struct HeadersSeed;

impl<'de> DeserializeSeed<'de> for HeadersSeed {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HeadersSeed {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the Headers object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let (mut found, mut exact, mut any) = (None, false, false);
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            // Header names are case-insensitive; the lower-case spelling counts as exact.
            if better_match(&key, "authorization", exact, any) {
                found = map.next_value_seed(HeaderValueSeed)?;
                exact |= key == "authorization";
                any = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    ignore_other_kinds!(seq);
    ignore_other_kinds!(str);
    ignore_other_kinds!(scalars);
}

/// One header's value: the first string of an array, or a string.
struct HeaderValueSeed;

impl<'de> DeserializeSeed<'de> for HeaderValueSeed {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HeaderValueSeed {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a header value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let first = seq.next_element_seed(StringElement)?.flatten();
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(first)
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    ignore_other_kinds!(map);
    ignore_other_kinds!(scalars);
}

/// An array element that counts only when it is a string.
struct StringElement;

impl<'de> DeserializeSeed<'de> for StringElement {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StringElement {
    type Value = Option<Cow<'de, str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a header value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    ignore_other_kinds!(map);
    ignore_other_kinds!(seq);
    ignore_other_kinds!(scalars);
}

/// `Body`: the raw text as the host sends it (unescaped here, once); a body encoded once more
/// is decoded; a JSON value other than a string is the text of that value; `null` is empty.
struct BodySeed;

impl<'de> DeserializeSeed<'de> for BodySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// Only a JSON string literal can be the body encoded once more; anything else is the raw text
/// (checked first so a normal body is not parsed an extra time).
fn decoded_once_more(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.trim_start().starts_with('"')
        && let Ok(inner) = serde_json::from_str::<String>(&text)
    {
        return Cow::Owned(inner);
    }
    text
}

impl<'de> Visitor<'de> for BodySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the request body")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(decoded_once_more(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(decoded_once_more(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(decoded_once_more(Cow::Owned(v)))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(""))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(""))
    }
    // The forms below are the docs' and tests', never the host's: building a tree is fine.
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let value: Value =
            de::Deserialize::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(Cow::Owned(value.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let value: Value =
            de::Deserialize::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
        Ok(Cow::Owned(value.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Cow::Owned(Value::from(v).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(envelope: &Value) -> Result<(Option<String>, Vec<u8>), EnvelopeError> {
        let text = envelope.to_string();
        let trigger = HttpTrigger::parse(text.as_bytes(), "req")?;
        Ok((
            trigger.authorization().map(str::to_owned),
            trigger.body().to_vec(),
        ))
    }

    #[test]
    fn headers_are_arrays_or_strings_and_match_case_insensitively() {
        for headers in [
            json!({"Authorization": ["PoP x", "PoP y"], "Content-Type": ["application/json"]}),
            json!({"authorization": "PoP x"}),
            json!({"AUTHORIZATION": ["PoP x"]}),
        ] {
            let envelope = json!({"Data": {"req": {"Headers": headers, "Body": "{}"}}});
            assert_eq!(parse(&envelope).unwrap().0.as_deref(), Some("PoP x"));
        }
        let none = json!({"Data": {"req": {"Headers": {"X-Other": ["a"]}, "Body": "{}"}}});
        assert_eq!(parse(&none).unwrap().0, None);
        let not_a_string = json!({"Data": {"req": {"Headers": {"Authorization": [1]}}}});
        assert_eq!(parse(&not_a_string).unwrap().0, None);
    }

    #[test]
    fn an_escaped_header_value_is_unescaped() {
        let text = br#"{"Data":{"req":{"Headers":{"Authorization":["PoP \u0061b"]}}}}"#;
        let trigger = HttpTrigger::parse(text, "req").unwrap();
        assert_eq!(trigger.authorization(), Some("PoP ab"));
    }

    #[test]
    fn bodies_in_every_encoding_come_out_as_the_same_bytes() {
        let text = r#"{"a":1}"#;
        for body in [
            json!(text),
            json!(serde_json::to_string(text).unwrap()),
            json!({"a": 1}),
        ] {
            let envelope = json!({"Data": {"req": {"Body": body}}});
            assert_eq!(parse(&envelope).unwrap().1, text.as_bytes(), "{body}");
        }
        for empty in [json!({}), json!({"Body": null})] {
            let envelope = json!({"Data": {"req": empty}});
            assert!(parse(&envelope).unwrap().1.is_empty());
        }
        // Raw text that is not JSON is kept as it is.
        let envelope = json!({"Data": {"req": {"Body": "\"unterminated"}}});
        assert_eq!(parse(&envelope).unwrap().1, b"\"unterminated");
    }

    #[test]
    fn keys_match_case_insensitively_and_the_exact_spelling_wins() {
        let envelope = json!({"data": {"REQ": {"body": "x", "HEADERS": {"Authorization": ["a"]}}}});
        assert_eq!(
            parse(&envelope).unwrap(),
            (Some("a".to_owned()), b"x".to_vec())
        );
        let text =
            br#"{"Data":{"REQ":{"Body":"first"},"req":{"Body":"exact"},"Req":{"Body":"later"}}}"#;
        let trigger = HttpTrigger::parse(text, "req").unwrap();
        assert_eq!(trigger.body(), b"exact");
    }

    #[test]
    fn a_missing_binding_and_non_envelopes_are_errors() {
        assert!(matches!(
            parse(&json!({"Data": {"other": {}}, "Metadata": {}})),
            Err(EnvelopeError::MissingBinding("req"))
        ));
        assert!(matches!(
            parse(&json!({"Data": [1, 2]})),
            Err(EnvelopeError::MissingBinding("req"))
        ));
        for bad in [&b"[]"[..], b"\"x\"", b"{", b"{} trailing", b""] {
            assert!(
                matches!(
                    HttpTrigger::parse(bad, "req"),
                    Err(EnvelopeError::NotJson(_))
                ),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn a_binding_that_is_not_an_object_is_an_empty_request() {
        let request = parse(&json!({"Data": {"req": "text"}})).unwrap();
        assert_eq!(request, (None, Vec::new()));
    }

    #[test]
    fn a_plain_body_and_header_are_borrowed_from_the_request() {
        let text = br#"{"Data":{"req":{"Headers":{"Authorization":["PoP abc"]},"Body":"plain"}}}"#;
        let trigger = HttpTrigger::parse(text, "req").unwrap();
        assert!(matches!(trigger.authorization, Some(Cow::Borrowed(_))));
        assert!(matches!(trigger.body, Cow::Borrowed(_)));
    }
}
