//! People on the SCIM wire: the lifecycle context of a SCIM write (who, when, where links
//! point), and the parts of a User (and Group) that are rendered from the lifecycle rather
//! than stored in the document: `active`, `userType`, the primary `roles` value and the
//! Rollcall extensions.

use std::collections::HashMap;

use poem::Request;
use serde_json::{json, Map, Value};

use crate::domain::audit::Actor;
use crate::domain::lifecycle::{invitation_status, Standing};
use crate::domain::people::{set_primary_role, PeopleQuery, Person};
use crate::domain::people_ops::Ctx;
use crate::domain::projects::{fold, Membership};
use crate::domain::resource::{StoredResource, TenantId};
use crate::domain::roles::{Role, TEAM_AND_USERS};
use crate::domain::schema::{ResourceType, ROLLCALL_GROUP, ROLLCALL_USER};
use crate::domain::tenant::TokenRecord;
use crate::domain::Result;
use crate::storage::timefmt;

use super::query::Projection;
use super::AppState;

/// The origin the links in mails point to.
pub fn app_url(state: &AppState, req: &Request) -> String {
    if let Some(url) = &state.app_url {
        return url.trim_end_matches('/').to_owned();
    }
    let headers = req.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let scheme = header("x-forwarded-proto").unwrap_or("http");
    let host = header("x-forwarded-host").or_else(|| header("host")).unwrap_or("localhost");
    format!("{scheme}://{host}")
}

/// The lifecycle context of a request made with `token`.
pub async fn context(state: &AppState, req: &Request, token: &TokenRecord) -> Result<Ctx> {
    let cached = state.tenant_names.lock().unwrap_or_else(|e| e.into_inner()).get(&token.tenant.0).cloned();
    let tenant_name = match cached {
        Some(name) => name,
        None => {
            let name = state.store.people().tenant_name(&token.tenant).await?.unwrap_or_default();
            let mut names = state.tenant_names.lock().unwrap_or_else(|e| e.into_inner());
            // Tenants are few; the cap only guards memory.
            if names.len() > 10_000 {
                names.clear();
            }
            names.insert(token.tenant.0.clone(), name.clone());
            name
        }
    };
    Ok(Ctx {
        tenant: token.tenant.clone(),
        tenant_name,
        actor: Actor::token(&token.id),
        now: state.clock.now(),
        links: format!("{}/auth", app_url(state, req)),
    })
}

/// The stored-resource view of a person, for rendering.
pub fn resource_of(p: &Person) -> StoredResource {
    StoredResource {
        resource_type: ResourceType::User,
        id: p.id.clone(),
        data: p.data.clone().into(),
        meta: crate::domain::resource::Meta { created: p.created, last_modified: p.updated, version: p.version },
        members: None,
        groups: None,
        standing: Some(p.standing()),
        bound: None,
    }
}

/// Everything a person's rendering needs beside the document.
pub struct PersonView {
    pub person: Person,
    pub permissions: Vec<String>,
    pub memberships: Vec<Membership>,
}

impl PersonView {
    pub fn extension(&self, now: time::OffsetDateTime) -> Value {
        let p = &self.person;
        let mut ext = json!({
            "state": p.state.as_str(),
            "companyRole": p.effective_role(),
            "permissions": self.permissions,
            "partner": p.partner,
            "seat": p.takes_seat(),
        });
        if let Some(status) = invitation_status(p.state, Some(p.invitation), now) {
            let mut inv = json!({"status": status.as_str()});
            if let Some(t) = p.invitation.expires_at {
                inv["expiresAt"] = json!(timefmt::format(t));
            }
            if let Some(t) = p.invitation.sent_at {
                inv["sentAt"] = json!(timefmt::format(t));
            }
            ext["invitation"] = inv;
        }
        if !self.memberships.is_empty() {
            ext["projects"] = Value::Array(
                self.memberships
                    .iter()
                    .map(|m| {
                        json!({"value": m.project_id, "display": m.project_name, "role": m.role.as_str(), "permissions": m.permissions})
                    })
                    .collect(),
            );
        }
        ext
    }

    /// Applies the lifecycle's view to a rendered User: the mirrors the document has
    /// (`active`, `userType`, the primary `roles` value, `partner`) answer what is in force,
    /// and with `full` the whole extension is there (its read-only attributes are
    /// `returned: request`).
    pub fn overlay(&self, body: &mut Map<String, Value>, now: time::OffsetDateTime, full: bool) {
        apply_standing(body, &self.person.standing());
        if full {
            body.insert(ROLLCALL_USER.into(), self.extension(now));
        }
        if body.contains_key(ROLLCALL_USER) {
            push_schema(body, ROLLCALL_USER);
        }
    }
}

/// Makes the mirrors a rendered User has (`active`, `userType`, the primary `roles` value,
/// the extension's `partner`) answer what the lifecycle says.
fn apply_standing(body: &mut Map<String, Value>, standing: &Standing) {
    if body.contains_key("active") {
        body.insert("active".into(), Value::Bool(standing.state.scim_active()));
    }
    if body.contains_key("userType") {
        body.insert("userType".into(), Value::from(standing.user_type.as_str()));
    }
    if body.contains_key("roles") {
        set_primary_role(body, &standing.role);
    }
    if let Some(Value::Object(ext)) = body.get_mut(ROLLCALL_USER) {
        if ext.contains_key("partner") {
            ext.insert("partner".into(), Value::Bool(standing.partner));
        }
    }
}

/// The mirrored keys of a stored User, the start of its overlay.
fn mirrors_of(item: &StoredResource) -> Map<String, Value> {
    let mut m = Map::new();
    for key in MIRRORED {
        // Without making the document's map: only these few values are wanted.
        if let Some(v) = item.data.value_of(key) {
            m.insert(key.to_owned(), v.into_owned());
        }
    }
    m
}

/// The attributes of a User document that the lifecycle answers for.
const MIRRORED: [&str; 4] = ["active", "userType", "roles", ROLLCALL_USER];

pub fn push_schema(body: &mut Map<String, Value>, urn: &str) {
    if let Some(Value::Array(schemas)) = body.get_mut("schemas") {
        if !schemas.iter().any(|s| s == urn) {
            schemas.push(Value::from(urn));
        }
    }
}

/// The views of these people, with four queries whatever their number.
pub async fn views(state: &AppState, tenant: &TenantId, people: Vec<Person>) -> Result<Vec<PersonView>> {
    if people.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = state.store.people().read(tenant).await?;
    let roles = tx.roles().await?;
    let ids: Vec<String> = people.iter().map(|p| p.id.clone()).collect();
    let grants = tx.grants_of(&ids).await?;
    tx.commit().await?;
    Ok(build_views(people, &roles, grants))
}

pub fn build_views(
    people: Vec<Person>,
    roles: &[Role],
    grants: Vec<crate::domain::projects::Grant>,
) -> Vec<PersonView> {
    let permissions: HashMap<String, Vec<String>> = people
        .iter()
        .map(|p| {
            let all = roles
                .iter()
                .find(|r| r.name == p.effective_role())
                .map(|r| r.effective(&p.permissions))
                .unwrap_or_else(|| p.permissions.clone());
            (p.id.clone(), all)
        })
        .collect();
    let mut memberships =
        fold(grants, |id| permissions.get(id).is_some_and(|ps| ps.iter().any(|p| p == TEAM_AND_USERS)));
    people
        .into_iter()
        .map(|person| {
            let mine: Vec<Membership> = {
                let (mine, rest): (Vec<_>, Vec<_>) = memberships.drain(..).partition(|m| m.person == person.id);
                memberships = rest;
                mine
            };
            PersonView {
                permissions: permissions.get(&person.id).cloned().unwrap_or_default(),
                person,
                memberships: mine,
            }
        })
        .collect()
}

/// Whether the client asked for a Rollcall extension (or one of its attributes) by name:
/// their lifecycle attributes are returned on request only.
pub fn wants_extension(projection: &Projection, urn: &str) -> bool {
    projection
        .attributes
        .iter()
        .any(|a| a.len() >= urn.len() && a.is_char_boundary(urn.len()) && a[..urn.len()].eq_ignore_ascii_case(urn))
}

/// The lifecycle overlays of a page of resources, keyed by id (Users: the person's view;
/// Groups: their bindings, when asked for).
pub async fn overlays(
    state: &AppState,
    tenant: &TenantId,
    items: &[StoredResource],
    projection: &Projection,
) -> Result<HashMap<String, Map<String, Value>>> {
    overlays_known(state, tenant, items, projection, Vec::new()).await
}

/// As [`overlays`], with the people already at hand (just written) not read again.
pub async fn overlays_known(
    state: &AppState,
    tenant: &TenantId,
    items: &[StoredResource],
    projection: &Projection,
    known: Vec<Person>,
) -> Result<HashMap<String, Map<String, Value>>> {
    let mut out = HashMap::new();
    let full = wants_extension(projection, ROLLCALL_USER);
    // Without the extension the overlay needs only what the person row says, and a User
    // whose document has none of the mirrored attributes needs nothing at all.
    let mirrored = |r: &StoredResource| MIRRORED.iter().any(|k| r.data.has(k));
    if !full {
        // The store read the standing with the document (a person just written has it
        // too): no second read.
        for r in items.iter().filter(|r| r.resource_type == ResourceType::User && mirrored(r)) {
            if let Some(standing) = &r.standing {
                let mut m = mirrors_of(r);
                apply_standing(&mut m, standing);
                out.insert(r.id.clone(), m);
            }
        }
    }
    let users: Vec<String> = items
        .iter()
        .filter(|r| r.resource_type == ResourceType::User && (full || mirrored(r)))
        .filter(|r| !out.contains_key(&r.id) && !known.iter().any(|p| p.id == r.id))
        .map(|r| r.id.clone())
        .collect();
    let now = state.clock.now();
    let mut people: Vec<Person> = known.into_iter().filter(|p| !out.contains_key(&p.id)).collect();
    if !users.is_empty() {
        let mut tx = state.store.people().read(tenant).await?;
        let (_, found) = tx
            .people(&PeopleQuery { ids: Some(users), archived: true, limit: 10_000, ..PeopleQuery::default() })
            .await?;
        tx.commit().await?;
        people.extend(found);
    }
    if !people.is_empty() {
        let views = if full {
            views(state, tenant, people).await?
        } else {
            people
                .into_iter()
                .map(|person| PersonView { person, permissions: Vec::new(), memberships: Vec::new() })
                .collect()
        };
        for view in views {
            // Only the keys the document has are overlaid (see `PersonView::overlay`).
            let mut m = items.iter().find(|r| r.id == view.person.id).map(mirrors_of).unwrap_or_default();
            view.overlay(&mut m, now, full);
            m.remove("schemas");
            out.insert(view.person.id.clone(), m);
        }
    }
    // A group the store found unbound has no overlay (see the loop below): no read for it.
    let groups: Vec<&StoredResource> =
        items.iter().filter(|r| r.resource_type == ResourceType::Group && r.bound != Some(false)).collect();
    if !groups.is_empty() {
        let mut tx = state.store.people().read(tenant).await?;
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        let bindings = tx.bindings_of(&ids).await?;
        // Project names only when a group is bound to a project (rarely, and few).
        let projects = if bindings.iter().any(|b| !b.projects.is_empty()) { tx.projects().await? } else { Vec::new() };
        tx.commit().await?;
        for g in groups {
            let mut ext = Map::new();
            // Unbound groups show the extension only when their client declared it.
            let Some(b) = bindings.iter().find(|b| b.group_id == g.id) else { continue };
            {
                if !b.projects.is_empty() {
                    let list = b
                        .projects
                        .iter()
                        .map(|(id, role)| {
                            let name =
                                projects.iter().find(|p| &p.id == id).map(|p| p.name.clone()).unwrap_or_default();
                            json!({"value": id, "display": name, "role": role.as_str()})
                        })
                        .collect();
                    ext.insert("projects".into(), Value::Array(list));
                }
                if let Some(role) = &b.company_role {
                    ext.insert("companyRole".into(), Value::from(role.clone()));
                }
            }
            let mut m = Map::new();
            m.insert(ROLLCALL_GROUP.into(), Value::Object(ext));
            out.insert(g.id.clone(), m);
        }
    }
    Ok(out)
}

/// The Group extension has nothing a client can write (bindings are made through the admin
/// API), so its object would be dropped as unassigned; but clients expect back the
/// extensions they declared. The group keeps an empty object as the mark that the client
/// declared it, set by POST/PUT/PATCH `add`/`replace` and cleared by PATCH `remove`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Keep,
    Set,
    Clear,
}

fn is_group_ext(key: &str) -> bool {
    key.eq_ignore_ascii_case(ROLLCALL_GROUP)
}

/// Whether a POST/PUT body of a Group declares the Rollcall Group extension.
pub fn declared_group_extension(rt: ResourceType, body: &Value) -> Marker {
    let declared = rt == ResourceType::Group && body.as_object().is_some_and(|o| o.keys().any(|k| is_group_ext(k)));
    if declared {
        Marker::Set
    } else {
        Marker::Keep
    }
}

/// What a PATCH of a Group does to the extension's mark (the last operation naming it wins).
pub fn declared_group_extension_by_patch(rt: ResourceType, body: &Value) -> Marker {
    if rt != ResourceType::Group {
        return Marker::Keep;
    }
    let ops =
        body.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("Operations"))).map(|(_, v)| v);
    let mut marker = Marker::Keep;
    for op in ops.and_then(Value::as_array).into_iter().flatten() {
        let field = |name: &str| {
            op.as_object().and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case(name))).map(|(_, v)| v)
        };
        let kind = field("op").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
        let path = field("path").and_then(Value::as_str);
        let names_it = match path {
            Some(p) => is_group_ext(p),
            None => field("value").and_then(Value::as_object).is_some_and(|v| v.keys().any(|k| is_group_ext(k))),
        };
        if names_it {
            marker = if kind == "remove" { Marker::Clear } else { Marker::Set };
        }
    }
    marker
}

pub fn mark_group_extension(data: &mut Map<String, Value>, marker: Marker) {
    match marker {
        Marker::Keep => {}
        Marker::Set => {
            data.insert(ROLLCALL_GROUP.into(), Value::Object(Map::new()));
        }
        Marker::Clear => {
            data.remove(ROLLCALL_GROUP);
        }
    }
}

/// Writes an overlay into a rendered resource (before projection).
pub fn apply_overlay(body: &mut Map<String, Value>, overlay: Option<&Map<String, Value>>) {
    let Some(overlay) = overlay else { return };
    for (k, v) in overlay {
        if k == "roles" {
            if let Some(role) =
                v.as_array().and_then(|l| l.iter().find(|r| r["primary"] == true)).and_then(|r| r["value"].as_str())
            {
                set_primary_role(body, role);
            }
            continue;
        }
        body.insert(k.clone(), v.clone());
        if k.starts_with("urn:") {
            push_schema(body, k);
        }
    }
}
