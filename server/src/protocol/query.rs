//! List parameters, from the query string or a `.search` body (RFC 7644 §3.4.2, §3.4.3).
//! Lenient the way identity providers need: `+` for spaces, stray `?` and `&`, parameter
//! names in any case.

use serde_json::Value;

use crate::domain::filter::{AttrPath, Filter};
use crate::domain::resource::SortOrder;
use crate::domain::Error;

use super::filter::parse_filter;

/// The page size when the client names none, and the most a page may hold (advertised as
/// `filter.maxResults`).
pub const DEFAULT_COUNT: u64 = 100;
pub const MAX_COUNT: u64 = 1000;

#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub filter: Option<Filter>,
    pub sort_by: Option<AttrPath>,
    pub sort_order: Option<SortOrder>,
    pub start_index: u64,
    pub count: u64,
    /// RFC 9865: `Some("")` asks for the first page of a cursor walk, `Some(c)` for the page
    /// after cursor `c`; `None` is index paging (the default, which Okta and Entra use).
    pub cursor: Option<String>,
    pub projection: Projection,
}

/// `attributes` and `excludedAttributes`, as written by the client.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

/// The raw key/value pairs of a query string, keys lower-cased.
pub fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    let Some(query) = query else { return Vec::new() };
    form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.trim_start_matches('?').to_ascii_lowercase(), v.into_owned()))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

fn get<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Just `attributes`/`excludedAttributes`, for single-resource endpoints.
pub fn projection_from_query(query: Option<&str>) -> Projection {
    let pairs = pairs(query);
    Projection {
        attributes: get(&pairs, "attributes").map(split_list).unwrap_or_default(),
        excluded: get(&pairs, "excludedattributes").map(split_list).unwrap_or_default(),
    }
}

pub fn list_from_query(query: Option<&str>) -> Result<ListParams, Error> {
    let pairs = pairs(query);
    let number = |key: &str| -> Result<Option<i64>, Error> {
        get(&pairs, key)
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| Error::InvalidValue(format!("{key} must be an integer, not `{v}`")))
            })
            .transpose()
    };
    build(
        get(&pairs, "filter"),
        get(&pairs, "sortby"),
        get(&pairs, "sortorder"),
        number("startindex")?,
        number("count")?,
        get(&pairs, "cursor").map(str::to_owned),
        projection_from_query(query),
    )
}

/// Parameters of a `POST .search` body (names matched case-insensitively).
pub fn list_from_body(body: &Value) -> Result<ListParams, Error> {
    let Value::Object(map) = body else {
        return Err(Error::InvalidSyntax("a search request must be a JSON object".into()));
    };
    let field = |key: &str| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v);
    let text = |key: &str| -> Result<Option<&str>, Error> {
        match field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Error::InvalidValue(format!("{key} must be a string"))),
        }
    };
    let number = |key: &str| -> Result<Option<i64>, Error> {
        match field(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_i64()),
            Some(Value::String(s)) => {
                s.trim().parse().map(Some).map_err(|_| Error::InvalidValue(format!("{key} must be an integer")))
            }
            Some(_) => Err(Error::InvalidValue(format!("{key} must be an integer"))),
        }
    };
    let list = |key: &str| -> Vec<String> {
        match field(key) {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).flat_map(split_list).collect(),
            Some(Value::String(s)) => split_list(s),
            _ => Vec::new(),
        }
    };
    build(
        text("filter")?,
        text("sortBy")?,
        text("sortOrder")?,
        number("startIndex")?,
        number("count")?,
        text("cursor")?.map(str::to_owned),
        Projection { attributes: list("attributes"), excluded: list("excludedAttributes") },
    )
}

fn build(
    filter: Option<&str>,
    sort_by: Option<&str>,
    sort_order: Option<&str>,
    start_index: Option<i64>,
    count: Option<i64>,
    cursor: Option<String>,
    projection: Projection,
) -> Result<ListParams, Error> {
    let filter = filter.filter(|f| !f.trim().is_empty()).map(parse_filter).transpose()?;
    let sort_by = sort_by
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            let path = super::filter::parse_path(s.trim())
                .map_err(|_| Error::InvalidValue(format!("cannot sort by `{s}`")))?;
            if path.filter.is_some() {
                return Err(Error::InvalidValue(format!("cannot sort by `{s}`")));
            }
            Ok(path.attr)
        })
        .transpose()?;
    let sort_order = match sort_order.map(str::trim) {
        None | Some("") => None,
        Some(s) if s.eq_ignore_ascii_case("ascending") => Some(SortOrder::Ascending),
        Some(s) if s.eq_ignore_ascii_case("descending") => Some(SortOrder::Descending),
        Some(s) => return Err(Error::InvalidValue(format!("sortOrder must be ascending or descending, not `{s}`"))),
    };
    if cursor.is_some() && start_index.is_some_and(|i| i > 1) {
        return Err(Error::InvalidValue("use either startIndex or cursor to page, not both".into()));
    }
    // RFC 7644 §3.4.2.4: a startIndex below 1 means 1; a negative count means 0.
    let start_index = u64::try_from(start_index.unwrap_or(1).max(1)).unwrap_or(1);
    let count = count.map_or(DEFAULT_COUNT, |c| u64::try_from(c.max(0)).unwrap_or(0)).min(MAX_COUNT);
    Ok(ListParams { filter, sort_by, sort_order, start_index, count, cursor, projection })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_query_strings() {
        let p = list_from_query(Some("?filter=userName+eq+%22a+b%22&&startIndex=0&COUNT=5&")).unwrap();
        assert!(p.filter.is_some());
        assert_eq!((p.start_index, p.count), (1, 5));
        let p = list_from_query(Some("count=100000")).unwrap();
        assert_eq!(p.count, MAX_COUNT);
        assert!(list_from_query(Some("count=abc")).is_err());
    }

    #[test]
    fn cursor_parameter() {
        // RFC 9865 §2: a bare `cursor` (or an empty one) asks for the first page.
        assert_eq!(
            list_from_query(Some("filter=userName+sw+%22J%22&cursor&count=10")).unwrap().cursor.as_deref(),
            Some("")
        );
        assert_eq!(list_from_query(Some("cursor=abc.def")).unwrap().cursor.as_deref(), Some("abc.def"));
        assert_eq!(list_from_query(Some("count=10")).unwrap().cursor, None);
        assert!(list_from_query(Some("cursor=&startIndex=5")).is_err());
        let body = serde_json::json!({"cursor": "", "count": 10});
        assert_eq!(list_from_body(&body).unwrap().cursor.as_deref(), Some(""));
    }

    #[test]
    fn search_body() {
        let body = serde_json::json!({"filter": "userName sw \"a\"", "startIndex": 3, "count": "2", "attributes": ["userName", "emails"]});
        let p = list_from_body(&body).unwrap();
        assert_eq!((p.start_index, p.count), (3, 2));
        assert_eq!(p.projection.attributes, vec!["userName", "emails"]);
    }
}
