//! The CSV source: a header row, one person a row.
//!
//! Default columns: `externalId,userName,givenName,familyName,displayName,email,userType,
//! active,companyRole,department,manager,groups` (`groups` separated by `;`, `manager` the
//! manager's externalId). `[csv.columns]` renames them, `[csv.constants]` sets a value for
//! every row. UTF-8 with or without BOM, quoted fields, CRLF. A column that is absent is
//! not synced; an empty cell clears the attribute.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::{ConfigError, CsvConfig};

use super::{check_unique, groups_from_names, parse_bool, Attr, BadRecord, Loaded, Person};

/// Why a CSV could not be read at all (bad rows are [`BadRecord`]s instead).
#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{0}")]
    Header(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// Where each field of a person comes from.
enum Field {
    Column(usize),
    Constant(String),
}

/// Reads a CSV file.
pub fn load(path: &str, config: &CsvConfig) -> Result<Loaded, CsvError> {
    let bytes = std::fs::read(path).map_err(|source| CsvError::Io { path: path.to_owned(), source })?;
    parse(&bytes, config)
}

/// Parses CSV text; separate from [`load`] for tests.
pub fn parse(bytes: &[u8], config: &CsvConfig) -> Result<Loaded, CsvError> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    let delimiter = u8::try_from(config.delimiter)
        .map_err(|_| ConfigError(format!("csv delimiter {:?} is not a single-byte character", config.delimiter)))?;
    // After a CRLF the csv crate puts a record's start on the LF before it, so its line
    // count is one short: count newlines up to and including the start instead.
    let newlines: Vec<u64> = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i as u64).collect();
    let line_at =
        |pos: Option<&csv::Position>| pos.map_or(0, |p| newlines.partition_point(|&n| n <= p.byte()) as u64 + 1);
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(false).from_reader(bytes);
    let headers = reader.headers().map_err(|e| CsvError::Header(format!("cannot read the header row: {e}")))?.clone();
    let header_index = |name: &str| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name.trim()));
    let mut seen_headers = BTreeSet::new();
    if let Some(twice) = headers.iter().find(|h| !h.trim().is_empty() && !seen_headers.insert(h.trim().to_lowercase()))
    {
        return Err(CsvError::Header(format!("the header row has the column {twice:?} twice")));
    }

    // Every name in the mapping must be an attribute we know: a typo would silently
    // drop a column.
    for key in config.columns.keys().chain(config.constants.keys()) {
        if key != "externalId" && key != "groups" && key.parse::<Attr>().is_err() {
            return Err(ConfigError(format!("[csv] names unknown attribute {key:?}")).into());
        }
    }
    let field = |name: &str| -> Result<Option<Field>, CsvError> {
        if let Some(value) = config.constants.get(name) {
            return Ok(Some(Field::Constant(value.clone())));
        }
        let column = config.columns.get(name).map_or(name, String::as_str);
        match header_index(column) {
            Some(i) => Ok(Some(Field::Column(i))),
            None if config.columns.contains_key(name) => {
                Err(CsvError::Header(format!("column {column:?} (mapped to {name}) is not in the header row")))
            }
            None => Ok(None),
        }
    };
    let external_id =
        field("externalId")?.ok_or_else(|| CsvError::Header("the header row has no externalId column".into()))?;
    let groups = field("groups")?;
    let mut attrs: BTreeMap<Attr, Field> = BTreeMap::new();
    for attr in Attr::ALL {
        if let Some(f) = field(attr.name())? {
            attrs.insert(attr, f);
        }
    }
    if !attrs.contains_key(&Attr::UserName) {
        return Err(CsvError::Header("the header row has no userName column".into()));
    }

    let mut loaded = Loaded::default();
    let used: BTreeSet<usize> = attrs
        .values()
        .chain([&external_id])
        .chain(groups.as_ref())
        .filter_map(|f| match f {
            Field::Column(i) => Some(*i),
            Field::Constant(_) => None,
        })
        .collect();
    let unused: Vec<&str> =
        headers.iter().enumerate().filter(|(i, h)| !used.contains(i) && !h.trim().is_empty()).map(|(_, h)| h).collect();
    if !unused.is_empty() {
        loaded.notes.push(format!(
            "columns not synced (not an attribute, and not mapped in [csv.columns]): {}",
            unused.join(", ")
        ));
    }
    let mut memberships: Vec<(String, String)> = Vec::new();
    let (mut seen_ids, mut seen_names) = (BTreeSet::new(), BTreeSet::new());
    for result in reader.records() {
        let record = match result {
            Ok(r) => r,
            Err(e) => {
                let line = line_at(e.position());
                let reason = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("{len} fields where the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
                    _ => e.to_string(),
                };
                loaded.bad.push(BadRecord::line(line, reason));
                continue;
            }
        };
        let line = line_at(record.position());
        let value = |f: &Field| -> Option<String> {
            let v = match f {
                Field::Column(i) => record.get(*i).unwrap_or_default(),
                Field::Constant(c) => c.as_str(),
            };
            let v = v.trim();
            (!v.is_empty()).then(|| v.to_owned())
        };
        let mut person = Person { external_id: value(&external_id), attrs: BTreeMap::new() };
        let mut bad = None;
        for (attr, f) in &attrs {
            let Some(v) = value(f) else { continue };
            let v = if *attr == Attr::Active {
                match parse_bool(&v) {
                    Some(b) => b.to_string(),
                    None => {
                        bad = Some(format!("active {v:?} is not true or false"));
                        break;
                    }
                }
            } else {
                v
            };
            person.attrs.insert(*attr, v);
        }
        if attrs.contains_key(&Attr::Active) && !person.attrs.contains_key(&Attr::Active) {
            person.attrs.insert(Attr::Active, "true".into());
        }
        if let Some(reason) = bad.or_else(|| check_unique(&person, &mut seen_ids, &mut seen_names).err()) {
            loaded.bad.push(BadRecord::line(line, reason));
            continue;
        }
        if let Some(names) = groups.as_ref().and_then(value) {
            let key = person.external_id.clone().unwrap_or_default();
            for name in names.split(config.group_separator).map(str::trim).filter(|n| !n.is_empty()) {
                memberships.push((key.clone(), name.to_owned()));
            }
        }
        loaded.directory.people.push(person);
    }
    let mut provided: BTreeSet<Attr> = attrs.keys().copied().collect();
    // Everyone a source lists is meant to exist, so `active` is always compared.
    provided.insert(Attr::Active);
    loaded.directory.provided = provided;
    loaded.directory.groups = groups_from_names(memberships.iter().map(|(id, g)| (id.as_str(), g.as_str())));
    if groups.is_none() {
        loaded.directory.groups.clear();
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CsvConfig {
        CsvConfig::default()
    }

    #[test]
    fn reads_bom_quotes_and_crlf() {
        let text = "\u{feff}externalId,userName,givenName,familyName,groups,active\r\n\
                    E1,ann@x.com,\"Ann, Jr.\",Lee,Sales;Ops,yes\r\n\
                    E2,bob@x.com,Bob,\"O\"\"Neil\",Ops,\r\n";
        let loaded = parse(text.as_bytes(), &cfg()).unwrap();
        assert!(loaded.bad.is_empty(), "{:?}", loaded.bad);
        let d = loaded.directory;
        assert_eq!(d.people.len(), 2);
        assert_eq!(d.people[0].external_id.as_deref(), Some("E1"));
        assert_eq!(d.people[0].get(Attr::GivenName), Some("Ann, Jr."));
        assert_eq!(d.people[1].get(Attr::FamilyName), Some("O\"Neil"));
        assert_eq!(d.people[1].get(Attr::Active), Some("true"));
        assert_eq!(d.groups.len(), 2);
        assert_eq!(d.groups[0].display_name, "Ops");
        assert_eq!(d.groups[0].members.len(), 2);
        assert!(d.provided.contains(&Attr::GivenName));
        assert!(!d.provided.contains(&Attr::Department));
    }

    #[test]
    fn bad_rows_carry_their_line_numbers() {
        let text = "externalId,userName,active\nE1,ann@x.com,true\n,nobody@x.com,true\nE3,c@x.com,maybe\n\
                    E4,d@x.com\nE1,again@x.com,true\nE6,ANN@x.com,true\nE7,ok@x.com,false\n";
        let loaded = parse(text.as_bytes(), &cfg()).unwrap();
        let lines: Vec<u64> = loaded.bad.iter().map(|b| b.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7], "{:?}", loaded.bad);
        assert!(loaded.bad[0].reason.contains("externalId"));
        assert!(loaded.bad[2].reason.contains("fields"));
        assert!(loaded.bad[4].reason.contains("twice"));
        assert_eq!(loaded.directory.people.len(), 2);
        assert_eq!(loaded.directory.people[1].get(Attr::Active), Some("false"));
        let crlf = text.replace('\n', "\r\n");
        let loaded = parse(crlf.as_bytes(), &cfg()).unwrap();
        assert_eq!(loaded.bad.iter().map(|b| b.line).collect::<Vec<_>>(), lines);
    }

    #[test]
    fn columns_are_renamed_and_constants_set() {
        let mut c = cfg();
        c.delimiter = ';';
        c.group_separator = '|';
        c.columns.insert("externalId".into(), "Employee ID".into());
        c.columns.insert("userName".into(), "Login".into());
        c.columns.insert("groups".into(), "Teams".into());
        c.constants.insert("userType".into(), "Employee".into());
        let text = "Employee ID;Login;Teams\n7;g@x.com;A|B\n";
        let d = parse(text.as_bytes(), &c).unwrap().directory;
        assert_eq!(d.people[0].external_id.as_deref(), Some("7"));
        assert_eq!(d.people[0].get(Attr::UserType), Some("Employee"));
        assert_eq!(d.groups.len(), 2);
    }

    #[test]
    fn a_missing_mapped_column_or_unknown_attribute_is_refused() {
        let mut c = cfg();
        c.columns.insert("userName".into(), "Login".into());
        assert!(parse(b"externalId,userName\n1,a\n", &c).is_err());
        let mut c = cfg();
        c.constants.insert("shoeSize".into(), "9".into());
        assert!(parse(b"externalId,userName\n1,a\n", &c).is_err());
        assert!(parse(b"userName\na\n", &cfg()).is_err());
        let e = parse(b"externalId,userName,Email,email\n1,a,b,c\n", &cfg()).unwrap_err();
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn columns_that_are_not_synced_are_named() {
        let loaded = parse(b"externalId,userName,deparment,title\n1,a@x,Sales,Boss\n", &cfg()).unwrap();
        assert_eq!(loaded.notes.len(), 1);
        assert!(loaded.notes[0].contains("deparment, title"), "{:?}", loaded.notes);
    }

    #[test]
    fn a_quoted_field_over_two_lines_keeps_the_line_numbers_right() {
        let text = "externalId,userName,displayName\nE1,a@x,\"Ann\nLee\"\nE2,b@x,Bob,extra\n";
        let loaded = parse(text.as_bytes(), &cfg()).unwrap();
        assert_eq!(loaded.directory.people[0].get(Attr::DisplayName), Some("Ann\nLee"));
        assert_eq!(loaded.bad.iter().map(|b| b.line).collect::<Vec<_>>(), vec![4]);
    }
}
