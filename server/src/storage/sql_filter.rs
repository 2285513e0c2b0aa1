//! Turns a domain [`Filter`] into a SQL condition, so that filtering happens in the database
//! and never on a tenant's resources loaded into memory. Attributes with an index of their
//! own (`id`, `userName`, `externalId`, a group's `displayName`, `emails.value`,
//! `members.value`) compile to lookups on those indexes; everything else reads the stored
//! JSON. Values are always bound, never spliced into the SQL text. Index lookups are
//! uncorrelated subqueries (`r.id IN (SELECT … WHERE tenant_id = ? AND …)`) so the planner
//! runs them once and probes the primary key, instead of once per row of the tenant.
//! Written once for SQLite and PostgreSQL: what differs is asked of the [`Dialect`].

use serde_json::{json, Value};
use sqlx::QueryBuilder;

use crate::domain::filter::{AttrPath, CompValue, CompareOp, Filter};
use crate::domain::schema::{AttrDef, AttrType, ResourceType, Returned};
use crate::domain::{Error, Result};

use super::dialect::Dialect;
use super::timefmt;

/// The table alias of the resource row in the statements this module writes into (the
/// column targets below spell it out as `r.`).
pub const ROW: &str = "r";

/// The JSON document of the resource row.
const DOC: &str = "r.data";

/// Where an attribute's value lives, once resolved against the schema.
enum Target {
    /// A column of the resource row. `lowered` columns hold the lower-cased value already.
    Column { sql: &'static str, def: &'static AttrDef, lowered: bool },
    /// The resource type name (`meta.resourceType`), not stored.
    ResourceTypeName(&'static str),
    /// A single value inside the JSON document, at the path `keys`.
    Json { keys: Vec<&'static str>, def: &'static AttrDef },
    /// A multi-valued complex attribute stored as a JSON array at the path `keys`.
    JsonArray { keys: Vec<&'static str>, def: &'static AttrDef },
    /// A group's members (the `group_members` table).
    Members,
    /// A user's groups (the `group_members` table, seen from the member).
    Groups,
}

/// Appends the SQL condition for `filter` on resources of type `rt` to `qb`.
pub fn push_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    rt: ResourceType,
    tenant: &str,
    filter: &Filter,
) -> Result<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let op = if matches!(filter, Filter::And(..)) { " AND " } else { " OR " };
            qb.push("(");
            push_filter(qb, rt, tenant, a)?;
            qb.push(op);
            push_filter(qb, rt, tenant, b)?;
            qb.push(")");
        }
        Filter::Not(inner) => {
            // SQL's NOT of an unknown (NULL) is unknown; SCIM's `not` of a non-match is a match.
            qb.push("NOT COALESCE((");
            push_filter(qb, rt, tenant, inner)?;
            qb.push("), FALSE)");
        }
        Filter::Present(path) => match resolve(rt, path)? {
            Target::JsonArray { keys, def } => match path.sub.as_deref() {
                None => {
                    qb.push(format!("COALESCE({}, 0) > 0", D::json_array_length(DOC, &keys)));
                }
                Some(sub) => {
                    let sub_def = sub_of(def, sub)?;
                    push_exists_element(qb, &keys, |qb| {
                        push_present(qb, &element_value::<D>(sub_def), sub_def);
                        Ok(())
                    })?;
                }
            },
            Target::Members => {
                qb.push(format!(
                    "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = {ROW}.tenant_id AND m.group_id = {ROW}.id)"
                ));
            }
            Target::Groups => {
                qb.push(format!(
                    "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = {ROW}.tenant_id AND m.member_id = {ROW}.id)"
                ));
            }
            Target::ResourceTypeName(_) => {
                qb.push("TRUE");
            }
            Target::Column { sql, def, .. } => push_present(qb, sql, def),
            Target::Json { keys, def } => push_present(qb, &D::json_value(DOC, &keys, def.ty), def),
        },
        Filter::Compare(path, op, value) => push_compare(qb, rt, tenant, path, *op, value)?,
        Filter::ValuePath(path, inner) => push_value_path(qb, rt, tenant, path, inner)?,
    }
    Ok(())
}

fn push_compare<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    rt: ResourceType,
    tenant: &str,
    path: &AttrPath,
    op: CompareOp,
    value: &CompValue,
) -> Result<()> {
    match resolve(rt, path)? {
        Target::Column { sql, def, lowered } => push_comparison(qb, sql, def, lowered, op, value),
        Target::Json { keys, def } => {
            if let Some(pattern) = containment(def, op, value) {
                D::push_containment_hint(qb, &nest(&keys, pattern));
            }
            push_comparison(qb, &D::json_value(DOC, &keys, def.ty), def, false, op, value)
        }
        Target::ResourceTypeName(name) => {
            let CompValue::String(s) = value else {
                return Err(Error::InvalidFilter("meta.resourceType is compared with a string".into()));
            };
            let matched = match op {
                CompareOp::Eq => s == name,
                CompareOp::Ne => s != name,
                _ => return Err(Error::InvalidFilter("meta.resourceType supports only eq and ne".into())),
            };
            qb.push(if matched { "TRUE" } else { "FALSE" });
            Ok(())
        }
        // `emails co "x"` and `emails.value co "x"` both mean: some e-mail's value matches.
        Target::JsonArray { .. } | Target::Members | Target::Groups => {
            let sub = path.sub.clone().unwrap_or_else(|| "value".to_owned());
            let element_filter = Filter::Compare(AttrPath::simple(&sub), op, value.clone());
            let parent = AttrPath { urn: path.urn.clone(), name: path.name.clone(), sub: None };
            push_value_path(qb, rt, tenant, &parent, &element_filter)
        }
    }
}

fn push_value_path<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    rt: ResourceType,
    tenant: &str,
    path: &AttrPath,
    inner: &Filter,
) -> Result<()> {
    if path.sub.is_some() {
        return Err(Error::InvalidFilter(format!(
            "a value filter applies to a multi-valued attribute, not `{}`",
            display(path)
        )));
    }
    match resolve(rt, path)? {
        Target::JsonArray { keys, def } => {
            // Fast path: `emails.value eq "x"` is an index lookup in user_emails.
            if rt == ResourceType::User && def.name == "emails" {
                if let Filter::Compare(p, CompareOp::Eq, CompValue::String(v)) = inner {
                    if p.name.eq_ignore_ascii_case("value") && p.sub.is_none() {
                        qb.push(format!("{ROW}.id IN (SELECT user_id FROM user_emails WHERE tenant_id = "));
                        D::bind_text(qb, tenant.to_owned());
                        qb.push(" AND value_lower = ");
                        D::bind_text(qb, v.to_lowercase());
                        qb.push(")");
                        return Ok(());
                    }
                }
            }
            // `emails[primary eq true]`: some element contains `{"primary": true}`.
            if let Filter::Compare(p, op, v) = inner {
                if let Some((sub, pattern)) =
                    element_sub(def, p).ok().and_then(|sub| Some((sub, containment(sub, *op, v)?)))
                {
                    D::push_containment_hint(qb, &nest(&keys, json!([{ sub.name: pattern }])));
                }
            }
            push_exists_element(qb, &keys, |qb| push_element_filter(qb, def, inner))
        }
        Target::Members => {
            if let Some(ids) = value_eq_list(inner) {
                qb.push(format!("{ROW}.id IN (SELECT group_id FROM group_members WHERE tenant_id = "));
                D::bind_text(qb, tenant.to_owned());
                qb.push(" AND ");
                push_in_list(qb, "member_id", &ids);
                qb.push(")");
                return Ok(());
            }
            qb.push(format!(
                "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = {ROW}.tenant_id AND m.group_id = {ROW}.id AND "
            ));
            push_relation_filter(qb, inner, "m.member_id", "m.member_type")?;
            qb.push(")");
            Ok(())
        }
        Target::Groups => {
            if let Some(ids) = value_eq_list(inner) {
                qb.push(format!("{ROW}.id IN (SELECT member_id FROM group_members WHERE tenant_id = "));
                D::bind_text(qb, tenant.to_owned());
                qb.push(" AND ");
                push_in_list(qb, "group_id", &ids);
                qb.push(")");
                return Ok(());
            }
            qb.push(format!(
                "EXISTS (SELECT 1 FROM group_members m WHERE m.tenant_id = {ROW}.tenant_id AND m.member_id = {ROW}.id AND "
            ));
            push_relation_filter(qb, inner, "m.group_id", "'direct'")?;
            qb.push(")");
            Ok(())
        }
        _ => Err(Error::InvalidFilter(format!("`{}` is not a multi-valued attribute", display(path)))),
    }
}

/// `value eq "a"` or `value eq "a" or value eq "b"`: the ids, for an index lookup.
fn value_eq_list(filter: &Filter) -> Option<Vec<String>> {
    match filter {
        Filter::Compare(p, CompareOp::Eq, CompValue::String(v))
            if p.name.eq_ignore_ascii_case("value") && p.sub.is_none() =>
        {
            Some(vec![v.clone()])
        }
        Filter::Or(a, b) => {
            let mut ids = value_eq_list(a)?;
            ids.extend(value_eq_list(b)?);
            Some(ids)
        }
        _ => None,
    }
}

fn push_in_list<D: Dialect>(qb: &mut QueryBuilder<'_, D>, column: &str, ids: &[String]) {
    qb.push(column);
    qb.push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        D::bind_text(qb, id.clone());
    }
    qb.push(")");
}

/// Filters on membership rows: only `value` and `type` are stored there.
fn push_relation_filter<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    filter: &Filter,
    value_sql: &str,
    type_sql: &str,
) -> Result<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let op = if matches!(filter, Filter::And(..)) { " AND " } else { " OR " };
            qb.push("(");
            push_relation_filter(qb, a, value_sql, type_sql)?;
            qb.push(op);
            push_relation_filter(qb, b, value_sql, type_sql)?;
            qb.push(")");
            Ok(())
        }
        Filter::Not(inner) => {
            qb.push("NOT COALESCE((");
            push_relation_filter(qb, inner, value_sql, type_sql)?;
            qb.push("), FALSE)");
            Ok(())
        }
        Filter::Present(p) | Filter::Compare(p, ..) => {
            let (sql, def) = if p.name.eq_ignore_ascii_case("value") {
                (value_sql, &VALUE_DEF)
            } else if p.name.eq_ignore_ascii_case("type") {
                (type_sql, &TYPE_DEF)
            } else {
                return Err(Error::InvalidFilter(format!(
                    "membership can be filtered on `value` and `type`, not `{}`",
                    display(p)
                )));
            };
            match filter {
                Filter::Compare(_, op, v) => push_comparison(qb, sql, def, false, *op, v),
                _ => {
                    push_present(qb, sql, def);
                    Ok(())
                }
            }
        }
        Filter::ValuePath(..) => Err(Error::InvalidFilter("value filters cannot be nested".into())),
    }
}

static VALUE_DEF: AttrDef = AttrDef { case_exact: true, ..TYPE_DEF };
static TYPE_DEF: AttrDef = AttrDef {
    name: "type",
    ty: AttrType::String,
    multi_valued: false,
    description: "",
    required: false,
    case_exact: false,
    mutability: crate::domain::schema::Mutability::Immutable,
    returned: crate::domain::schema::Returned::Default,
    uniqueness: crate::domain::schema::Uniqueness::None,
    canonical_values: &[],
    reference_types: &[],
    sub_attributes: &[],
};

/// `EXISTS (SELECT 1 FROM <elements of the array at keys> e WHERE <cond>)`.
fn push_exists_element<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    keys: &[&str],
    cond: impl FnOnce(&mut QueryBuilder<'_, D>) -> Result<()>,
) -> Result<()> {
    qb.push(format!("EXISTS (SELECT 1 FROM {} WHERE ", D::json_elements(DOC, keys)));
    cond(qb)?;
    qb.push(")");
    Ok(())
}

/// A filter inside a value path, on the sub-attributes of one element `e`.
fn push_element_filter<D: Dialect>(qb: &mut QueryBuilder<'_, D>, def: &'static AttrDef, filter: &Filter) -> Result<()> {
    match filter {
        Filter::And(a, b) | Filter::Or(a, b) => {
            let op = if matches!(filter, Filter::And(..)) { " AND " } else { " OR " };
            qb.push("(");
            push_element_filter(qb, def, a)?;
            qb.push(op);
            push_element_filter(qb, def, b)?;
            qb.push(")");
        }
        Filter::Not(inner) => {
            qb.push("NOT COALESCE((");
            push_element_filter(qb, def, inner)?;
            qb.push("), FALSE)");
        }
        Filter::Present(p) => {
            let sub = element_sub(def, p)?;
            push_present(qb, &element_value::<D>(sub), sub);
        }
        Filter::Compare(p, op, v) => {
            let sub = element_sub(def, p)?;
            push_comparison(qb, &element_value::<D>(sub), sub, false, *op, v)?;
        }
        Filter::ValuePath(..) => return Err(Error::InvalidFilter("value filters cannot be nested".into())),
    }
    Ok(())
}

fn element_sub(def: &'static AttrDef, p: &AttrPath) -> Result<&'static AttrDef> {
    if p.urn.is_some() || p.sub.is_some() {
        return Err(Error::InvalidFilter(format!("`{}` is not a sub-attribute of `{}`", display(p), def.name)));
    }
    sub_of(def, &p.name)
}

fn sub_of(def: &'static AttrDef, name: &str) -> Result<&'static AttrDef> {
    def.sub(name).ok_or_else(|| Error::InvalidFilter(format!("`{}` has no sub-attribute `{name}`", def.name)))
}

/// The sub-attribute `sub` of the array element `e`.
fn element_value<D: Dialect>(sub: &AttrDef) -> String {
    D::json_value("e.value", &[sub.name], sub.ty)
}

fn push_present<D: Dialect>(qb: &mut QueryBuilder<'_, D>, sql: &str, def: &AttrDef) {
    match def.ty {
        AttrType::String | AttrType::Reference | AttrType::Binary | AttrType::DateTime => {
            qb.push(format!("COALESCE({sql} <> '', FALSE)"));
        }
        _ => {
            qb.push(format!("{sql} IS NOT NULL"));
        }
    }
}

/// `sql op value`, typed by the attribute's definition.
fn push_comparison<D: Dialect>(
    qb: &mut QueryBuilder<'_, D>,
    sql: &str,
    def: &AttrDef,
    lowered: bool,
    op: CompareOp,
    value: &CompValue,
) -> Result<()> {
    if let CompValue::Null = value {
        return match op {
            CompareOp::Eq => {
                qb.push(format!("{sql} IS NULL"));
                Ok(())
            }
            CompareOp::Ne => {
                qb.push(format!("{sql} IS NOT NULL"));
                Ok(())
            }
            _ => Err(Error::InvalidFilter(format!("`{}` can only be compared with null by eq or ne", def.name))),
        };
    }
    match def.ty {
        AttrType::Boolean => {
            let b = match value {
                CompValue::Bool(b) => *b,
                CompValue::String(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::String(s) if s.eq_ignore_ascii_case("false") => false,
                _ => {
                    return Err(Error::InvalidFilter(format!(
                        "`{}` is a boolean; compare it with true or false",
                        def.name
                    )))
                }
            };
            match op {
                CompareOp::Eq => qb.push(format!("{sql} = ")),
                CompareOp::Ne => qb.push(format!("COALESCE({sql} <> ")),
                _ => return Err(Error::InvalidFilter(format!("`{}` is a boolean: only eq and ne apply", def.name))),
            };
            D::bind_bool(qb, b);
            if op == CompareOp::Ne {
                qb.push(", TRUE)");
            }
            Ok(())
        }
        AttrType::Integer | AttrType::Decimal => {
            let CompValue::Number(n) = value else {
                return Err(Error::InvalidFilter(format!("`{}` is a number; compare it with a number", def.name)));
            };
            let symbol = ordering_symbol(op).ok_or_else(|| {
                Error::InvalidFilter(format!("`{}` is a number: co, sw and ew do not apply", def.name))
            })?;
            qb.push(format!("{sql} {symbol} "));
            match n.as_i64() {
                Some(i) => D::bind_int(qb, i),
                None => D::bind_float(qb, n.as_f64().unwrap_or(f64::NAN)),
            }
            Ok(())
        }
        AttrType::DateTime => {
            let CompValue::String(s) = value else {
                return Err(Error::InvalidFilter(format!(
                    "`{}` is a dateTime; compare it with a quoted date",
                    def.name
                )));
            };
            let instant =
                timefmt::parse(s).ok_or_else(|| Error::InvalidFilter(format!("`{s}` is not an RFC 3339 dateTime")))?;
            push_text_op(qb, sql, op, &timefmt::format(instant));
            Ok(())
        }
        AttrType::Complex => {
            Err(Error::InvalidFilter(format!("`{}` is complex: filter on one of its sub-attributes", def.name)))
        }
        AttrType::String | AttrType::Reference | AttrType::Binary => {
            let text = match value {
                CompValue::String(s) => s.clone(),
                CompValue::Number(n) => n.to_string(),
                _ => return Err(Error::InvalidFilter(format!("`{}` is a string; compare it with a string", def.name))),
            };
            if def.case_exact {
                push_text_op(qb, sql, op, &text);
            } else if lowered {
                push_text_op(qb, sql, op, &text.to_lowercase());
            } else {
                // SQLite's lower() folds ASCII only; fold the value the same way so both
                // sides agree. Indexed columns are folded fully in Rust when written.
                push_text_op(qb, &format!("lower({sql})"), op, &text.to_ascii_lowercase());
            }
            Ok(())
        }
    }
}

fn ordering_symbol(op: CompareOp) -> Option<&'static str> {
    Some(match op {
        CompareOp::Eq => "=",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
        CompareOp::Ne => "<>",
        _ => return None,
    })
}

/// A comparison of text, with `value` already in the case the column is compared in.
fn push_text_op<D: Dialect>(qb: &mut QueryBuilder<'_, D>, sql: &str, op: CompareOp, value: &str) {
    let chars = i64::try_from(value.chars().count()).unwrap_or(i64::MAX);
    match op {
        CompareOp::Ne => {
            qb.push(format!("COALESCE({sql} <> "));
            D::bind_text(qb, value.to_owned());
            qb.push(", TRUE)");
        }
        CompareOp::Co if chars == 0 => {
            qb.push(format!("{sql} IS NOT NULL"));
        }
        CompareOp::Co => {
            qb.push(D::text_position(sql));
            D::bind_text(qb, value.to_owned());
            qb.push(") > 0");
        }
        CompareOp::Sw => {
            qb.push(format!("substr({sql}, 1, {chars}) = "));
            D::bind_text(qb, value.to_owned());
        }
        CompareOp::Ew if chars == 0 => {
            qb.push(format!("{sql} IS NOT NULL"));
        }
        CompareOp::Ew => {
            qb.push(format!("{} = ", D::text_suffix(sql, chars)));
            D::bind_text(qb, value.to_owned());
        }
        _ => {
            let symbol = ordering_symbol(op).unwrap_or("=");
            qb.push(format!("{sql} {symbol} "));
            D::bind_text(qb, value.to_owned());
        }
    }
}

/// The SQL expression a `sortBy` attribute sorts by.
pub fn sort_expression<D: Dialect>(rt: ResourceType, path: &AttrPath) -> Result<String> {
    sort_expression_typed::<D>(rt, path).map(|(sql, _)| sql)
}

/// The sort expression and the type of the attribute it reads (cursors bind a sort value of
/// that type to resume after it).
pub fn sort_expression_typed<D: Dialect>(rt: ResourceType, path: &AttrPath) -> Result<(String, AttrType)> {
    let invalid = || Error::InvalidValue(format!("cannot sort by `{}`", display(path)));
    let (sql, def) = match resolve(rt, path).map_err(|_| invalid())? {
        Target::Column { sql, def, .. } => (sql.to_owned(), def),
        Target::Json { keys, def } => (D::json_value(DOC, &keys, def.ty), def),
        // RFC 7644 §3.4.2.3: a multi-valued attribute sorts by its primary (or first) value.
        Target::JsonArray { keys, def } => {
            let sub = def.sub(path.sub.as_deref().unwrap_or("value")).ok_or_else(invalid)?;
            (
                format!(
                    "(SELECT {} FROM {} ORDER BY COALESCE({}, FALSE) DESC, e.key LIMIT 1)",
                    element_value::<D>(sub),
                    D::json_elements(DOC, &keys),
                    D::json_value("e.value", &["primary"], AttrType::Boolean),
                ),
                sub,
            )
        }
        _ => return Err(invalid()),
    };
    let sql = match def.ty {
        AttrType::String | AttrType::Reference if !def.case_exact => format!("lower({sql})"),
        AttrType::Complex => return Err(invalid()),
        _ => sql,
    };
    Ok((sql, def.ty))
}

fn resolve(rt: ResourceType, path: &AttrPath) -> Result<Target> {
    let unknown = || Error::InvalidFilter(format!("unknown attribute `{}` for {}", display(path), rt.name()));
    let resolved = rt.resolve(path.urn.as_deref(), &path.name).ok_or_else(unknown)?;
    // The Rollcall extensions are rendered from the lifecycle, not stored in the document.
    if resolved
        .schema
        .is_some_and(|s| s.id == crate::domain::schema::ROLLCALL_USER || s.id == crate::domain::schema::ROLLCALL_GROUP)
    {
        return Err(Error::InvalidFilter(format!(
            "filtering on `{}` is not supported: the admin API lists people by state and role",
            display(path)
        )));
    }
    let def = resolved.def;
    let sub = match &path.sub {
        Some(s) => Some(def.sub(s).ok_or_else(unknown)?),
        None => None,
    };
    // A never-returned attribute (the password, which is not even kept) cannot be filtered
    // on: an empty answer would pretend it was compared (RFC 7644 §3.4.2.2).
    if def.returned == Returned::Never || sub.is_some_and(|s| s.returned == Returned::Never) {
        return Err(Error::InvalidFilter(format!("`{}` is never returned and cannot be filtered on", display(path))));
    }
    let top = def.name;
    // Attributes with columns of their own.
    if resolved.schema.is_none() {
        let column = match (rt, top, sub.map(|s| s.name)) {
            (_, "id", None) => Some(("r.id", def, false)),
            (_, "externalId", None) => Some(("r.external_id", def, false)),
            (ResourceType::User, "userName", None) => Some(("r.user_name_lower", def, true)),
            (ResourceType::User, "active", None) => Some(("r.active", def, false)),
            (ResourceType::Group, "displayName", None) => Some(("r.display_name_lower", def, true)),
            (_, "meta", Some("created")) => Some(("r.created_at", sub.unwrap_or(def), false)),
            (_, "meta", Some("lastModified")) => Some(("r.updated_at", sub.unwrap_or(def), false)),
            (_, "meta", Some("resourceType")) => return Ok(Target::ResourceTypeName(rt.name())),
            (_, "meta", _) => {
                return Err(Error::InvalidFilter(format!("filtering on `{}` is not supported", display(path))))
            }
            (ResourceType::Group, "members", _) => return Ok(Target::Members),
            (ResourceType::User, "groups", _) => return Ok(Target::Groups),
            _ => None,
        };
        if let Some((sql, def, lowered)) = column {
            return Ok(Target::Column { sql, def, lowered });
        }
    }
    // Schema names contain only letters, digits, `$`, `:`, `.` and `-`, and come from the
    // schema registry, never from the client: the dialects may write them into SQL text.
    let mut keys = Vec::with_capacity(3);
    if let Some(ext) = resolved.schema {
        keys.push(ext.id);
    }
    keys.push(top);
    if def.multi_valued {
        return Ok(Target::JsonArray { keys, def });
    }
    match sub {
        Some(sub) => {
            keys.push(sub.name);
            Ok(Target::Json { keys, def: sub })
        }
        None => Ok(Target::Json { keys, def }),
    }
}

/// The JSON value that an `eq` comparison implies the document contains, for the dialects
/// that index containment: booleans, numbers and case-exact strings (a case-insensitive
/// match implies nothing about the stored spelling).
fn containment(def: &AttrDef, op: CompareOp, value: &CompValue) -> Option<Value> {
    if op != CompareOp::Eq {
        return None;
    }
    match (def.ty, value) {
        (AttrType::Boolean, CompValue::Bool(b)) => Some(Value::Bool(*b)),
        (AttrType::Integer | AttrType::Decimal, CompValue::Number(n)) => Some(Value::Number(n.clone())),
        (AttrType::String | AttrType::Reference | AttrType::Binary, CompValue::String(s)) if def.case_exact => {
            Some(Value::String(s.clone()))
        }
        _ => None,
    }
}

/// `{"k1": {"k2": value}}` for the path `[k1, k2]`.
fn nest(keys: &[&str], value: Value) -> Value {
    keys.iter().rev().fold(value, |inner, key| json!({ *key: inner }))
}

fn display(p: &AttrPath) -> String {
    let mut s = String::new();
    if let Some(urn) = &p.urn {
        s.push_str(urn);
        s.push(':');
    }
    s.push_str(&p.name);
    if let Some(sub) = &p.sub {
        s.push('.');
        s.push_str(sub);
    }
    s
}
