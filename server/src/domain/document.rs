//! A stored resource's document: a JSON object, kept as the text it was stored as until
//! something needs it as a map.
//!
//! Reads answer most documents exactly as stored. Parsing each one into a map of owned
//! values, to serialize those values again and drop them, was about a tenth of a GET's
//! instructions. A document read from storage therefore keeps its text and where each
//! top-level member lies in it (checked as valid JSON at once, so a bad row still fails its
//! read); the map is made the first time someone derefs the document, and a mutable deref
//! makes the map the only truth.

use std::borrow::Cow;
use std::fmt;
use std::ops::{Deref, DerefMut, Range};
use std::sync::OnceLock;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A JSON object: a map, or stored text that becomes one when first dereferenced.
#[derive(Clone, Default)]
pub struct Document {
    /// The text as stored, while the document is unchanged since it was read.
    stored: Option<Stored>,
    map: OnceLock<Map<String, Value>>,
}

#[derive(Clone)]
struct Stored {
    text: Box<str>,
    members: Members,
}

/// Each top-level member's key (without its quotes) and value, as ranges of the text.
type Members = Vec<(Range<usize>, Range<usize>)>;

/// Why stored text is not a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotAnObject;

/// Members at most this many are checked for repeated keys pairwise; larger documents are
/// parsed into a map at once (it keeps the last of repeated keys, as the answer must).
const PAIRWISE_KEYS: usize = 64;

impl Document {
    /// The document stored as `text`, which must be a JSON object.
    pub fn from_stored(text: String) -> Result<Self, NotAnObject> {
        let members = match members_of(&text) {
            Ok(Some(members)) => members,
            // Escaped or repeated keys: the map decides what they mean.
            Ok(None) => return Self::parsed(&text),
            Err(NotAnObject) => return Err(NotAnObject),
        };
        Ok(Self { stored: Some(Stored { text: text.into_boxed_str(), members }), map: OnceLock::new() })
    }

    fn parsed(text: &str) -> Result<Self, NotAnObject> {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(map.into()),
            _ => Err(NotAnObject),
        }
    }

    /// Each top-level member's key and value as stored (values as their JSON text), when
    /// the document is the stored text, unchanged.
    pub fn stored_members(&self) -> Option<impl Iterator<Item = (&str, &str)> + '_> {
        let stored = self.stored.as_ref()?;
        Some(stored.members.iter().map(|(k, v)| (&stored.text[k.clone()], &stored.text[v.clone()])))
    }

    /// Whether the document has `key`, without making the map.
    pub fn has(&self, key: &str) -> bool {
        match self.unparsed(key) {
            Some(found) => found.is_some(),
            None => self.contains_key(key),
        }
    }

    /// The value of `key`, without making the map (a stored value is parsed alone).
    pub fn value_of(&self, key: &str) -> Option<Cow<'_, Value>> {
        match self.unparsed(key) {
            // Checked as JSON when read.
            Some(found) => found.and_then(|text| serde_json::from_str(text).ok()).map(Cow::Owned),
            None => self.get(key).map(Cow::Borrowed),
        }
    }

    /// `Some(the stored text of key's value, if any)` while the map is not made; `None` once
    /// it is (ask the map).
    fn unparsed(&self, key: &str) -> Option<Option<&str>> {
        if self.map.get().is_some() {
            return None;
        }
        Some(self.stored_members()?.find(|(k, _)| *k == key).map(|(_, v)| v))
    }

    /// The document as a map.
    pub fn into_map(mut self) -> Map<String, Value> {
        match self.map.take() {
            Some(map) => map,
            None => self.make_map(),
        }
    }

    fn make_map(&self) -> Map<String, Value> {
        match &self.stored {
            // Checked as a JSON object when read.
            Some(stored) => serde_json::from_str(&stored.text).unwrap_or_default(),
            None => Map::new(),
        }
    }
}

impl From<Map<String, Value>> for Document {
    fn from(map: Map<String, Value>) -> Self {
        Self { stored: None, map: OnceLock::from(map) }
    }
}

impl Deref for Document {
    type Target = Map<String, Value>;

    fn deref(&self) -> &Map<String, Value> {
        self.map.get_or_init(|| self.make_map())
    }
}

impl DerefMut for Document {
    fn deref_mut(&mut self) -> &mut Map<String, Value> {
        self.map.get_or_init(|| self.make_map());
        // From here on the map is the document.
        self.stored = None;
        self.map.get_mut().expect("made above")
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// The members of the object `text` as ranges of it; `None` when a key is escaped or
/// repeated (or there are too many to check).
fn members_of(text: &str) -> Result<Option<Members>, NotAnObject> {
    let mut de = serde_json::Deserializer::from_str(text);
    let found = de.deserialize_map(MembersVisitor);
    let members = match found.and_then(|m| de.end().map(|()| m)) {
        Ok(members) => members,
        // A key with an escape cannot be borrowed from the text (and a document that is no
        // object fails as a map too).
        Err(e) if e.is_data() => return Ok(None),
        Err(_) => return Err(NotAnObject),
    };
    let base = text.as_ptr() as usize;
    let range = |s: &str| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    let ranges: Members = members.iter().map(|(k, v)| (range(k), range(v.get()))).collect();
    if ranges.len() > PAIRWISE_KEYS
        || members.iter().enumerate().any(|(i, (k, _))| members[..i].iter().any(|(earlier, _)| earlier == k))
    {
        return Ok(None);
    }
    Ok(Some(ranges))
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Vec<(&'de str, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(access.size_hint().unwrap_or(16));
        while let Some(member) = access.next_entry::<&'de str, &'de RawValue>()? {
            members.push(member);
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests;
