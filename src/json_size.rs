//! How long a JSON text becomes once indented, measured on the text itself.
//!
//! The work item carries the callout as the text received, but the size that must fit a queue
//! message is that of the item as a .NET serialiser may write it, indented (see
//! [`crate::work_item`]). Building a `serde_json::Value` tree only to measure it cost more than
//! the rest of the work item; this scan gives the same figure as
//! `serde_json::to_writer_pretty` of the `Value` the text parses to — strings re-escaped,
//! numbers re-formatted — without building anything. Objects with a key written twice are
//! counted with both entries, where the `Value` keeps one: an over-estimate, on the safe side.

/// What the pretty form of a JSON value takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct PrettySize {
    /// Bytes, with one-byte line ends.
    pub bytes: usize,
    /// Line ends.
    pub newlines: usize,
}

/// The size of `text` written by `serde_json::to_writer_pretty` (two-space indent) as the
/// value of a field `depth` levels deep. `None` when `text` is not one JSON value.
pub(crate) fn pretty_size(text: &str, depth: usize) -> Option<PrettySize> {
    let mut scan = Scan {
        bytes: text.as_bytes(),
        at: 0,
        size: PrettySize::default(),
    };
    scan.value(depth)?;
    scan.skip_whitespace();
    (scan.at == scan.bytes.len()).then_some(scan.size)
}

struct Scan<'a> {
    bytes: &'a [u8],
    at: usize,
    size: PrettySize,
}

impl Scan<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at.checked_add(word.len())?;
        (self.bytes.get(self.at..end)? == word).then_some(())?;
        self.at = end;
        self.size.bytes += word.len();
        Some(())
    }

    /// A line end and the indentation of `depth`.
    fn new_line(&mut self, depth: usize) {
        self.size.newlines += 1;
        self.size.bytes += 1 + 2 * depth;
    }

    fn value(&mut self, depth: usize) -> Option<()> {
        self.skip_whitespace();
        match self.peek()? {
            b'{' => self.container(depth, b'}', true),
            b'[' => self.container(depth, b']', false),
            b'"' => self.string(),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// `{…}` or `[…]`: empty, `{}`; else each element on its own line one level deeper, and the
    /// closing bracket on a line of its own.
    fn container(&mut self, depth: usize, close: u8, keyed: bool) -> Option<()> {
        self.at += 1;
        self.size.bytes += 1;
        self.skip_whitespace();
        if self.peek()? == close {
            self.at += 1;
            self.size.bytes += 1;
            return Some(());
        }
        loop {
            self.new_line(depth + 1);
            if keyed {
                self.skip_whitespace();
                (self.peek()? == b'"').then_some(())?;
                self.string()?;
                self.skip_whitespace();
                (self.peek()? == b':').then_some(())?;
                self.at += 1;
                self.size.bytes += 2; // ": "
            }
            self.value(depth + 1)?;
            self.skip_whitespace();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.size.bytes += 1;
                }
                b if b == close => {
                    self.at += 1;
                    self.new_line(depth);
                    self.size.bytes += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// A string as serde_json writes it back: `"` and `\\` escaped with a backslash, control
    /// characters as `\\n`-style or `\\u00XX` escapes, everything else as UTF-8. Runs of plain
    /// bytes are skipped whole.
    fn string(&mut self) -> Option<()> {
        self.at += 1;
        self.size.bytes += 2;
        loop {
            let rest = self.bytes.get(self.at..)?;
            let run = memchr::memchr2(b'"', b'\\', rest)?;
            // A raw control character is not JSON.
            if rest[..run].iter().any(|b| *b < 0x20) {
                return None;
            }
            self.size.bytes += run;
            self.at += run + 1;
            if rest[run] == b'"' {
                return Some(());
            }
            let escape = self.peek()?;
            self.at += 1;
            self.size.bytes += match escape {
                b'"' | b'\\' | b'b' | b'f' | b'n' | b'r' | b't' => 2,
                b'/' => 1,
                b'u' => self.unicode_escape()?,
                _ => return None,
            };
        }
    }

    /// The rest of a `\uXXXX` escape (and of its low surrogate): the size of the character it
    /// stands for, written back.
    fn unicode_escape(&mut self) -> Option<usize> {
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            (self.bytes.get(self.at..self.at + 2)? == b"\\u").then_some(())?;
            self.at += 2;
            let low = self.hex4()?;
            (0xDC00..0xE000).contains(&low).then_some(())?;
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        let c = char::from_u32(code)?;
        Some(match c {
            '"' | '\\' | '\u{8}' | '\u{9}' | '\u{a}' | '\u{c}' | '\u{d}' => 2,
            '\u{0}'..='\u{1f}' => 6,
            c => c.len_utf8(),
        })
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = std::str::from_utf8(self.bytes.get(self.at..self.at + 4)?).ok()?;
        self.at += 4;
        u32::from_str_radix(digits, 16).ok()
    }

    /// A number: a plain non-negative integer is written back as it is; anything else (signs,
    /// fractions, exponents, huge values) is measured as serde_json re-formats it.
    fn number(&mut self) -> Option<()> {
        let start = self.at;
        while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        let token = &self.bytes[start..self.at];
        if token.len() <= 19 && token.iter().all(u8::is_ascii_digit) {
            self.size.bytes += token.len();
        } else {
            let value: serde_json::Value = serde_json::from_slice(token)
                .ok()
                .filter(|v: &serde_json::Value| v.is_number())?;
            self.size.bytes += value.to_string().len();
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// What serde_json writes for the parsed value, nested `depth` levels deep.
    fn reference(text: &str, depth: usize) -> PrettySize {
        let value: Value = serde_json::from_str(text).unwrap();
        let mut wrapped = value;
        for _ in 0..depth {
            wrapped = json!({ "k": wrapped });
        }
        let outer = {
            let mut shell = Value::Null;
            for _ in 0..depth {
                shell = json!({ "k": shell });
            }
            serde_json::to_string_pretty(&shell).unwrap()
        };
        let full = serde_json::to_string_pretty(&wrapped).unwrap();
        // The shell holds `null` (4 bytes) where the value goes.
        PrettySize {
            bytes: full.len() - (outer.len() - 4),
            newlines: full.matches('\n').count() - outer.matches('\n').count(),
        }
    }

    #[test]
    fn matches_serde_json_on_hand_picked_texts() {
        for text in [
            "{}",
            "[]",
            "null",
            r#"  { "a" : [ 1 , 2.50 , -0 , 1e3, 18446744073709551616 ] , "b" : {} , "c" : [] }  "#,
            r#"{"s":"\u00e9\/\"\\\n\u0001\ud83d\ude00 é","t":true,"f":false}"#,
            r#"[[[]],[{}],{"x":[null]}]"#,
            &std::fs::read_to_string("tests/fixtures/callouts/launch-and-wait.json").unwrap(),
        ] {
            for depth in [0, 1, 3] {
                assert_eq!(
                    pretty_size(text, depth),
                    Some(reference(text, depth)),
                    "{text} at {depth}"
                );
            }
        }
    }

    #[test]
    fn not_one_json_value_is_none() {
        for text in [
            "",
            "{",
            "[1,]",
            "{\"a\"}",
            "1 2",
            "\"\u{1}\"",
            "tru",
            "\"\\x\"",
        ] {
            assert_eq!(pretty_size(text, 0), None, "{text:?}");
        }
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn matches_serde_json_on_any_value_compact_or_indented(value in arbitrary_json(), depth in 0usize..4) {
            for text in [value.to_string(), serde_json::to_string_pretty(&value).unwrap()] {
                prop_assert_eq!(pretty_size(&text, depth), Some(reference(&text, depth)));
            }
        }
    }
}
