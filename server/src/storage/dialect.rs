//! What differs between the SQL of SQLite and of PostgreSQL, and nothing else: how to read
//! a value out of the JSON document, how to iterate a JSON array, two text functions, and
//! how values are bound. `sql_filter` and the page queries are written once against this.
//!
//! Every expression here is built from names that come from the schema registry or from
//! this module, never from a client; client values are always bound.

use sqlx::{Postgres, QueryBuilder, Sqlite};

use crate::domain::schema::AttrType;

/// A database whose SQL the shared query builders can write.
pub trait Dialect: sqlx::Database + Sized {
    /// The value at `keys` inside the JSON document `doc` (a column or `e.value`), as an SQL
    /// value suited to `ty`: text for strings, references, binaries and dates; a number or a
    /// boolean for those types. NULL when absent.
    fn json_value(doc: &str, keys: &[&str], ty: AttrType) -> String;
    /// The length of the JSON array at `keys`; NULL when there is none.
    fn json_array_length(doc: &str, keys: &[&str]) -> String;
    /// A `FROM` item listing the elements of the JSON array at `keys` as `e`, with columns
    /// `e.value` (the element) and `e.key` (its position).
    fn json_elements(doc: &str, keys: &[&str]) -> String;
    /// `position(needle in haystack)`, 0 when absent, counted in characters.
    fn text_position(haystack: &str) -> String;
    /// The last `chars` characters of `text`.
    fn text_suffix(text: &str, chars: i64) -> String;
    /// How the resource row's JSON document is selected, so that it decodes as text.
    fn document_column() -> &'static str;

    /// `QueryBuilder::new`, which needs a bound generic code cannot name for every database.
    fn builder<'a>(sql: String) -> QueryBuilder<'a, Self>;

    fn bind_text(qb: &mut QueryBuilder<'_, Self>, value: String);
    fn bind_int(qb: &mut QueryBuilder<'_, Self>, value: i64);
    fn bind_float(qb: &mut QueryBuilder<'_, Self>, value: f64);
    fn bind_bool(qb: &mut QueryBuilder<'_, Self>, value: bool);

    /// Pushes `<doc contains pattern> AND ` where an index can answer containment of a
    /// JSON pattern (PostgreSQL's GIN index on the document); nothing elsewhere. Only a
    /// pre-filter: the exact condition follows it, so it must be implied by that condition.
    fn push_containment_hint(qb: &mut QueryBuilder<'_, Self>, pattern: &serde_json::Value) {
        let _ = (qb, pattern);
    }
}

/// `$."a"."b"`: a SQLite JSON path. Keys come from the schema registry and contain no quotes.
fn sqlite_path(keys: &[&str]) -> String {
    let mut path = String::from("$");
    for key in keys {
        path.push_str(&format!(".\"{key}\""));
    }
    path
}

impl Dialect for Sqlite {
    fn builder<'a>(sql: String) -> QueryBuilder<'a, Self> {
        QueryBuilder::new(sql)
    }

    fn json_value(doc: &str, keys: &[&str], _ty: AttrType) -> String {
        // json_extract already answers text, numbers, and 1/0 for booleans.
        format!("json_extract({doc}, '{}')", sqlite_path(keys))
    }

    fn json_array_length(doc: &str, keys: &[&str]) -> String {
        format!("json_array_length({doc}, '{}')", sqlite_path(keys))
    }

    fn json_elements(doc: &str, keys: &[&str]) -> String {
        format!("json_each({doc}, '{}') e", sqlite_path(keys))
    }

    fn text_position(haystack: &str) -> String {
        format!("instr({haystack}, ")
    }

    fn text_suffix(text: &str, chars: i64) -> String {
        format!("substr({text}, -{chars})")
    }

    fn document_column() -> &'static str {
        "r.data"
    }

    fn bind_text(qb: &mut QueryBuilder<'_, Self>, value: String) {
        qb.push_bind(value);
    }

    fn bind_int(qb: &mut QueryBuilder<'_, Self>, value: i64) {
        qb.push_bind(value);
    }

    fn bind_float(qb: &mut QueryBuilder<'_, Self>, value: f64) {
        qb.push_bind(value);
    }

    fn bind_bool(qb: &mut QueryBuilder<'_, Self>, value: bool) {
        // Booleans are integers in SQLite, in columns and in json_extract alike.
        qb.push_bind(i64::from(value));
    }
}

/// `doc -> 'a' -> 'b'` (`last` is `->>` for text). Keys come from the schema registry.
fn pg_path(doc: &str, keys: &[&str], last: &str) -> String {
    let mut path = format!("({doc}");
    for (i, key) in keys.iter().enumerate() {
        let op = if i + 1 == keys.len() { last } else { "->" };
        path.push_str(&format!(" {op} '{key}'"));
    }
    path.push(')');
    path
}

impl Dialect for Postgres {
    fn builder<'a>(sql: String) -> QueryBuilder<'a, Self> {
        QueryBuilder::new(sql)
    }

    fn json_value(doc: &str, keys: &[&str], ty: AttrType) -> String {
        let json = pg_path(doc, keys, "->");
        let text = pg_path(doc, keys, "->>");
        // A value of another JSON type reads as NULL rather than failing the cast, as a
        // mismatched type never compares equal in SQLite either. Text compares byte-wise
        // (COLLATE "C"), as SQLite's BINARY collation does, whatever the database's locale.
        match ty {
            AttrType::Boolean => format!("(CASE WHEN json_typeof{json} = 'boolean' THEN {text}::boolean END)"),
            AttrType::Integer | AttrType::Decimal => {
                format!("(CASE WHEN json_typeof{json} = 'number' THEN {text}::numeric END)")
            }
            _ => format!("({text} COLLATE \"C\")"),
        }
    }

    fn json_array_length(doc: &str, keys: &[&str]) -> String {
        let json = pg_path(doc, keys, "->");
        format!("(CASE WHEN json_typeof{json} = 'array' THEN json_array_length{json} END)")
    }

    fn json_elements(doc: &str, keys: &[&str]) -> String {
        let json = pg_path(doc, keys, "->");
        format!(
            "json_array_elements(CASE WHEN json_typeof{json} = 'array' THEN {json} END) WITH ORDINALITY AS e(value, key)"
        )
    }

    fn text_position(haystack: &str) -> String {
        format!("strpos({haystack}, ")
    }

    fn text_suffix(text: &str, chars: i64) -> String {
        format!("right({text}, {chars})")
    }

    fn document_column() -> &'static str {
        "r.data::text AS data"
    }

    fn bind_text(qb: &mut QueryBuilder<'_, Self>, value: String) {
        qb.push_bind(value);
    }

    fn bind_int(qb: &mut QueryBuilder<'_, Self>, value: i64) {
        qb.push_bind(value);
    }

    fn bind_float(qb: &mut QueryBuilder<'_, Self>, value: f64) {
        qb.push_bind(value);
    }

    fn bind_bool(qb: &mut QueryBuilder<'_, Self>, value: bool) {
        qb.push_bind(value);
    }

    fn push_containment_hint(qb: &mut QueryBuilder<'_, Self>, pattern: &serde_json::Value) {
        // Matches the expression of the GIN indexes `*_data` in migrations/postgres.
        qb.push("(r.data::jsonb) @> ");
        qb.push_bind(pattern.to_string());
        qb.push("::jsonb AND ");
    }
}
