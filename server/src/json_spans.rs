//! A JSON document scanned for where its texts are, without building a
//! tree ([`Document`]): each text's byte span and value (borrowed from the
//! input unless it had escapes), the object it is a member of and under
//! which key, and each object's place (its enclosing object, the key it
//! sits under, its members' keys and kinds in the order read). What the
//! privacy masking of every answer to a device reads
//! (`domain::privacy_numbers`): it rewrites a few texts and copies every
//! other byte of the answer as it was, where reading the answer into a
//! tree and writing the tree again cost most of a download page's masking
//! (docs/PERFORMANCE.md). The whole grammar is checked: a malformed
//! document (or trailing input other than whitespace) is refused.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// How deep objects and lists may nest (serde_json's own limit).
const MAX_DEPTH: usize = 128;

/// What a member or list item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    /// Index into [`Document::texts`].
    Text(usize),
    List,
    /// Index into [`Document::objects`].
    Object(usize),
}

/// An object of the document, numbered in the order it opens (an
/// enclosing object comes before what it holds).
#[derive(Debug, Clone, PartialEq)]
pub struct Object<'a> {
    /// The nearest object it sits in (through any lists).
    pub parent: Option<usize>,
    /// The key it is the value of, when it is a member of `parent` (not an
    /// item of a list).
    pub key: Option<Cow<'a, str>>,
    /// Its members in [`Document::members`], in the order read (a repeated
    /// key kept each time): one list for the whole document, not one
    /// allocation an object.
    pub members: Range<usize>,
}

/// A text (string value) of the document, in document order.
#[derive(Debug, Clone, PartialEq)]
pub struct Text<'a> {
    /// Its bytes in the input, quotes included.
    pub span: Range<usize>,
    /// Its value, escapes read.
    pub value: Cow<'a, str>,
    /// The object it is a member of, and its key (none for a list's item or
    /// the document itself).
    pub member_of: Option<(usize, Cow<'a, str>)>,
}

/// A document's texts and objects.
#[derive(Debug, Default)]
pub struct Document<'a> {
    pub objects: Vec<Object<'a>>,
    pub texts: Vec<Text<'a>>,
    /// Every object's members (key, kind), each object's together
    /// ([`Object::members`]).
    pub members: Vec<(Cow<'a, str>, Kind)>,
}

/// A document that is not JSON: the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub at: usize,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not JSON at byte {}", self.at)
    }
}

impl std::error::Error for Malformed {}

impl<'a> Document<'a> {
    /// Scans `bytes` (UTF-8 JSON, one value, whitespace around it).
    pub fn scan(bytes: &'a [u8]) -> Result<Self, Malformed> {
        let text = std::str::from_utf8(bytes).map_err(|e| Malformed {
            at: e.valid_up_to(),
        })?;
        let mut s = Scanner {
            text,
            at: 0,
            doc: Document {
                // A download page has a member about every 22 bytes and a
                // text about every 45: one allocation each for most answers
                // (reserving more, or the objects too, measured no faster).
                members: Vec::with_capacity(bytes.len() / 24),
                texts: Vec::with_capacity(bytes.len() / 36),
                objects: Vec::new(),
            },
            open_members: Vec::new(),
        };
        s.value(None, None, 0)?;
        s.space();
        if s.at != bytes.len() {
            return Err(s.malformed());
        }
        Ok(s.doc)
    }

    /// The first member of object `object` named `key`.
    pub fn get(&self, object: usize, key: &str) -> Option<Kind> {
        self.members[self.objects[object].members.clone()]
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, kind)| *kind)
    }

    /// The text of `kind`, if it is one.
    pub fn text(&self, kind: Kind) -> Option<&str> {
        match kind {
            Kind::Text(i) => Some(&self.texts[i].value),
            _ => None,
        }
    }
}

/// Writes `source` again with the texts `changed` names (index into the
/// document's texts, new value; in document order) replaced, every other
/// byte as it was.
pub fn rewrite<'t>(
    source: &[u8],
    doc: &Document<'_>,
    changed: impl IntoIterator<Item = (usize, Cow<'t, str>)>,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(source.len() + source.len() / 64);
    let mut copied = 0;
    for (i, value) in changed {
        let span = &doc.texts[i].span;
        out.extend_from_slice(&source[copied..span.start]);
        // Writing a `str` to a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut out, value.as_ref());
        copied = span.end;
    }
    out.extend_from_slice(&source[copied..]);
    out
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
    doc: Document<'a>,
    /// The members read so far of the objects still open, innermost last;
    /// an object's go to the document's list when it closes.
    open_members: Vec<(Cow<'a, str>, Kind)>,
}

impl<'a> Scanner<'a> {
    fn malformed(&self) -> Malformed {
        Malformed { at: self.at }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Malformed> {
        self.space();
        if self.peek() != Some(byte) {
            return Err(self.malformed());
        }
        self.at += 1;
        Ok(())
    }

    /// The value here; `parent` the object it sits in, `key` its key when
    /// it is a member of it.
    fn value(
        &mut self,
        parent: Option<usize>,
        key: Option<Cow<'a, str>>,
        depth: usize,
    ) -> Result<Kind, Malformed> {
        self.space();
        match self.peek() {
            Some(b'{') => self.object(parent, key, depth + 1),
            Some(b'[') => self.list(parent, depth + 1),
            Some(b'"') => {
                let (span, value) = self.string()?;
                self.doc.texts.push(Text {
                    span,
                    value,
                    member_of: parent.zip(key),
                });
                Ok(Kind::Text(self.doc.texts.len() - 1))
            }
            Some(b't') => self.word("true", Kind::Bool),
            Some(b'f') => self.word("false", Kind::Bool),
            Some(b'n') => self.word("null", Kind::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.malformed()),
        }
    }

    fn word(&mut self, word: &str, kind: Kind) -> Result<Kind, Malformed> {
        if !self.text[self.at..].starts_with(word) {
            return Err(self.malformed());
        }
        self.at += word.len();
        Ok(kind)
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<Kind, Malformed> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.peek() {
            Some(b'0') => self.at += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.malformed()),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.some_digits()?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.some_digits()?;
        }
        Ok(Kind::Number)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn some_digits(&mut self) -> Result<(), Malformed> {
        let from = self.at;
        self.digits();
        if self.at == from {
            return Err(self.malformed());
        }
        Ok(())
    }

    /// The string here: its span (quotes included) and value.
    fn string(&mut self) -> Result<(Range<usize>, Cow<'a, str>), Malformed> {
        let start = self.at;
        let bytes = self.text.as_bytes();
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // To the next quote or backslash in one search; what lies
            // before it must hold no control character.
            let Some(next) = memchr::memchr2(b'"', b'\\', &bytes[i.min(bytes.len())..]) else {
                self.at = bytes.len();
                return Err(self.malformed());
            };
            if let Some(c) = bytes[i..i + next].iter().position(|&b| b < 0x20) {
                self.at = i + c;
                return Err(self.malformed());
            }
            i += next;
            if bytes[i] == b'"' {
                break;
            }
            escaped = true;
            i += 2;
        }
        let span = start..i + 1;
        self.at = i + 1;
        let value = if escaped {
            // Rare: serde_json reads the escapes (and checks them).
            let read: String = serde_json::from_str(&self.text[span.clone()])
                .map_err(|_| Malformed { at: start })?;
            Cow::Owned(read)
        } else {
            Cow::Borrowed(&self.text[start + 1..i])
        };
        Ok((span, value))
    }

    /// The items of an object or a list, `self.at` on its opening
    /// bracket: `item` reads each, then a comma or `close` follows.
    fn items(
        &mut self,
        close: u8,
        depth: usize,
        mut item: impl FnMut(&mut Self) -> Result<(), Malformed>,
    ) -> Result<(), Malformed> {
        if depth > MAX_DEPTH {
            return Err(self.malformed());
        }
        self.at += 1; // { or [
        self.space();
        if self.peek() == Some(close) {
            self.at += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            self.space();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b) if b == close => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.malformed()),
            }
        }
    }

    fn object(
        &mut self,
        parent: Option<usize>,
        key: Option<Cow<'a, str>>,
        depth: usize,
    ) -> Result<Kind, Malformed> {
        let me = self.doc.objects.len();
        self.doc.objects.push(Object {
            parent,
            key,
            members: 0..0,
        });
        let open_from = self.open_members.len();
        self.items(b'}', depth, |s| {
            s.space();
            if s.peek() != Some(b'"') {
                return Err(s.malformed());
            }
            let (_, name) = s.string()?;
            s.expect(b':')?;
            let kind = s.value(Some(me), Some(name.clone()), depth)?;
            s.open_members.push((name, kind));
            Ok(())
        })?;
        let from = self.doc.members.len();
        self.doc
            .members
            .extend(self.open_members.drain(open_from..));
        self.doc.objects[me].members = from..self.doc.members.len();
        Ok(Kind::Object(me))
    }

    fn list(&mut self, parent: Option<usize>, depth: usize) -> Result<Kind, Malformed> {
        self.items(b']', depth, |s| s.value(parent, None, depth).map(drop))?;
        Ok(Kind::List)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_found_with_their_object_and_key_and_objects_with_their_place() {
        let src = br#" {"a": "x", "l": [1, "y", {"b": null}], "c": {"d": "z\n\u4e2d"}} "#;
        let doc = Document::scan(src).unwrap();
        let values: Vec<&str> = doc.texts.iter().map(|t| t.value.as_ref()).collect();
        assert_eq!(values, ["x", "y", "z\n中"]);
        assert_eq!(&src[doc.texts[0].span.clone()], br#""x""#);
        assert_eq!(doc.texts[0].member_of, Some((0, "a".into())));
        assert_eq!(doc.texts[1].member_of, None, "a list's item is no member");
        assert_eq!(doc.texts[2].member_of, Some((2, "d".into())));
        assert!(matches!(doc.texts[2].value, Cow::Owned(_)));
        assert!(matches!(doc.texts[0].value, Cow::Borrowed(_)));
        assert_eq!(doc.objects.len(), 3);
        assert_eq!(
            (doc.objects[1].parent, doc.objects[1].key.clone()),
            (Some(0), None)
        );
        assert_eq!(
            (doc.objects[2].parent, doc.objects[2].key.clone()),
            (Some(0), Some("c".into()))
        );
        assert_eq!(doc.get(0, "l"), Some(Kind::List));
        assert_eq!(doc.text(doc.get(0, "a").unwrap()), Some("x"));
        assert_eq!(doc.get(1, "b"), Some(Kind::Null));
        assert_eq!(doc.get(2, "d"), Some(Kind::Text(2)));
        assert_eq!(
            doc.get(0, "d"),
            None,
            "a member of an inner object is not the outer's"
        );
        let keys = |o: usize| -> Vec<&str> {
            doc.members[doc.objects[o].members.clone()]
                .iter()
                .map(|(k, _)| k.as_ref())
                .collect()
        };
        assert_eq!(keys(0), ["a", "l", "c"]);
        assert_eq!(keys(1), ["b"]);
        assert_eq!(keys(2), ["d"]);
    }

    #[test]
    fn a_rewrite_changes_the_named_texts_and_copies_every_other_byte() {
        let src = br#"{"a": "x",  "n": 1.5e3, "b": ["y", "keep"]}"#;
        let doc = Document::scan(src).unwrap();
        let out = rewrite(src, &doc, [(0, "\"q\"".into()), (1, "中".into())]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a": "\"q\"",  "n": 1.5e3, "b": ["中", "keep"]}"#
        );
    }

    #[test]
    fn what_is_not_json_is_refused() {
        for bad in [
            &b""[..],
            b"{",
            b"{\"a\" 1}",
            b"{\"a\": 1,}",
            b"[1 2]",
            b"[1,]",
            b"\"open",
            b"\"tab\tinside\"",
            b"\"a longer text, then a control character \x01 in it\"",
            b"\"ends on its escape\\",
            b"\"ends on an escaped quote\\\"",
            b"\"\\x\"",
            b"01",
            b"1.",
            b"-",
            b"1e",
            b"tru",
            b"nul",
            b"{} x",
            b"{a: 1}",
            b"\xff",
        ] {
            assert!(
                Document::scan(bad).is_err(),
                "{:?} accepted",
                String::from_utf8_lossy(bad)
            );
            assert!(serde_json::from_slice::<serde_json::Value>(bad).is_err());
        }
        // Where: the control character itself.
        assert_eq!(Document::scan(b"\"tab\tinside\"").unwrap_err().at, 4);
        assert_eq!(Document::scan(b"{\"k\": \"ab\x01\"}").unwrap_err().at, 9);
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(Document::scan(deep.as_bytes()).is_err());
        for good in [
            &b"0"[..],
            b"-0.5E+7",
            b" null ",
            b"[]",
            b"{}",
            b"[true,false]",
            b"\"\\\"\"",
        ] {
            assert!(Document::scan(good).is_ok());
        }
        let quoted = br#"{"q": "say \"hi\" \\ bye", "after": "x"}"#;
        let doc = Document::scan(quoted).unwrap();
        assert_eq!(doc.texts[0].value, "say \"hi\" \\ bye");
        assert_eq!(doc.texts[1].value, "x");
    }
}
