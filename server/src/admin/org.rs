//! The tenant's organisation: roles and permissions, projects and teams, group bindings,
//! seats, policies, the public join link, the audit log and the outbox.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::domain::audit::AuditQuery;
use crate::domain::lifecycle::UserTarget;
use crate::domain::notify::OutboxQuery;
use crate::domain::people_ops as ops;
use crate::domain::roles::{self, Role, COMPANY_PERMISSIONS, PROJECT_PERMISSIONS};
use crate::domain::secret;
use crate::domain::settings::{Deactivation, Seats};
use crate::domain::{Error, Refusal};
use crate::protocol::people::app_url;
use crate::protocol::AppState;
use crate::storage::timefmt;

use super::dto::bad;
use super::{admin_ctx, begin, read, AdminToken, Answer};

#[derive(Tags)]
pub enum Tag {
    /// Company roles and the permission catalog.
    Roles,
    /// Seats, policies and the join link.
    Tenant,
    /// The audit log and the notification outbox.
    Records,
}

pub struct RolesApi {
    pub state: Arc<AppState>,
}

pub struct TenantApi {
    pub state: Arc<AppState>,
}

pub struct RecordsApi {
    pub state: Arc<AppState>,
}

#[derive(Debug, Object)]
pub struct PermissionOut {
    pub name: String,
    pub description: String,
}

#[derive(Debug, Object)]
pub struct Catalog {
    pub company: Vec<PermissionOut>,
    pub project: Vec<PermissionOut>,
}

#[derive(Debug, Object)]
pub struct RoleOut {
    pub name: String,
    pub description: String,
    pub builtin: bool,
    /// Every holder has these.
    pub defaults: Vec<String>,
    /// These may be granted on top, person by person.
    pub grantable: Vec<String>,
}

impl From<Role> for RoleOut {
    fn from(r: Role) -> Self {
        Self {
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            defaults: r.defaults,
            grantable: r.grantable,
        }
    }
}

#[derive(Debug, Object)]
pub struct RoleBody {
    pub name: String,
    #[oai(default)]
    pub description: String,
    #[oai(default)]
    pub defaults: Vec<String>,
    #[oai(default)]
    pub grantable: Vec<String>,
}

#[derive(Debug, Object)]
pub struct SeatsOut {
    /// None: no limit set.
    pub limit: Option<u32>,
    pub used: u64,
    pub free: Option<u64>,
}

#[derive(Debug, Object)]
pub struct SeatsIn {
    /// None removes the limit.
    pub limit: Option<u32>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PoliciesOut {
    /// What a SCIM POST creates: `invited` or `active` (SSO-only tenants).
    pub scim_create: String,
    /// What SCIM `active: false` does: `contact` or `deleted`.
    pub scim_deactivate: String,
    /// What SCIM `active: true` does to a contact: `invited` or `active`.
    pub scim_reactivate: String,
    /// Whether SCIM and join-link invitations are mailed.
    pub send_invitations: bool,
    /// How long sign-up and reset links live.
    pub link_validity_hours: u32,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct PoliciesIn {
    pub scim_create: Option<String>,
    pub scim_deactivate: Option<String>,
    pub scim_reactivate: Option<String>,
    pub send_invitations: Option<bool>,
    pub link_validity_hours: Option<u32>,
}

#[derive(Debug, Object)]
pub struct JoinLinkOut {
    /// POST `{email, givenName, familyName}` to it to be invited as an employee.
    pub url: String,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct AuditOut {
    pub id: String,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub person: Option<String>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Object)]
#[oai(rename_all = "camelCase")]
pub struct OutboxOut {
    pub id: String,
    pub person: Option<String>,
    pub kind: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub created: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub sent_at: Option<String>,
    pub last_error: Option<String>,
}

fn policies(s: &crate::domain::settings::TenantSettings) -> PoliciesOut {
    PoliciesOut {
        scim_create: s.scim_create.as_str().into(),
        scim_deactivate: s.scim_deactivate.as_str().into(),
        scim_reactivate: s.scim_reactivate.as_str().into(),
        send_invitations: s.send_invitations,
        link_validity_hours: s.link_validity_hours,
    }
}

fn time_param(s: Option<&str>) -> Result<Option<time::OffsetDateTime>, super::Failure> {
    s.map(|t| timefmt::parse(t).ok_or_else(|| bad(format!("`{t}` is not an RFC 3339 time")))).transpose()
}

#[OpenApi(tag = "Tag::Roles")]
impl RolesApi {
    /// The permission catalog: company and project permissions.
    #[oai(path = "/permissions", method = "get")]
    async fn catalog(&self, req: &Request, _auth: AdminToken) -> Answer<Catalog> {
        admin_ctx(&self.state, req).await?;
        let list = |l: &[(&str, &str)]| {
            l.iter().map(|(n, d)| PermissionOut { name: (*n).into(), description: (*d).into() }).collect()
        };
        Ok(Json(Catalog { company: list(COMPANY_PERMISSIONS), project: list(PROJECT_PERMISSIONS) }))
    }

    /// The tenant's company roles with their default and grantable permissions.
    #[oai(path = "/roles", method = "get")]
    async fn roles(&self, req: &Request, _auth: AdminToken) -> Answer<Vec<RoleOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let roles = tx.roles().await?;
        tx.commit().await?;
        Ok(Json(roles.into_iter().map(RoleOut::from).collect()))
    }

    /// Add a role, or change one (`admin` always keeps every permission).
    #[oai(path = "/roles", method = "put")]
    async fn put_role(&self, req: &Request, _auth: AdminToken, body: Json<RoleBody>) -> Answer<RoleOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let b = body.0;
        if b.name == roles::ADMIN {
            return Err(Error::refused(Refusal::RoleInUse, "the admin role always has every permission").into());
        }
        let mut tx = begin(&self.state, &ctx).await?;
        let builtin = tx.role(&b.name).await?.is_some_and(|r| r.builtin);
        let role =
            Role { name: b.name, description: b.description, builtin, defaults: b.defaults, grantable: b.grantable };
        roles::validate_custom(&role)?;
        tx.save_role(&role).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "role.save",
            None,
            Some(serde_json::json!({"role": role.name, "defaults": role.defaults, "grantable": role.grantable})),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(role.into()))
    }

    /// Remove a role nobody holds (built-in roles stay).
    #[oai(path = "/roles/:name", method = "delete")]
    async fn delete_role(&self, req: &Request, _auth: AdminToken, name: Path<String>) -> Answer<Vec<RoleOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let role = tx.role(&name.0).await?.ok_or_else(|| Error::NotFound(format!("no role `{}`", name.0)))?;
        if role.builtin || tx.role_in_use(&role.name).await? {
            return Err(Error::refused(
                Refusal::RoleInUse,
                format!("the role `{}` is built in or still held", role.name),
            )
            .into());
        }
        tx.delete_role(&role.name).await?;
        ops::audit_raw(tx.as_mut(), &ctx, "role.delete", Some(serde_json::json!({"role": role.name})), None).await?;
        let roles = tx.roles().await?;
        tx.commit().await?;
        Ok(Json(roles.into_iter().map(RoleOut::from).collect()))
    }
}

#[OpenApi(tag = "Tag::Tenant")]
impl TenantApi {
    /// Seats: the limit (none until set), used and free.
    #[oai(path = "/seats", method = "get")]
    async fn seats(&self, req: &Request, _auth: AdminToken) -> Answer<SeatsOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let seats = Seats { limit: tx.settings().await?.seat_limit, used: tx.seats_used().await? };
        tx.commit().await?;
        Ok(Json(SeatsOut { limit: seats.limit, used: seats.used, free: seats.free() }))
    }

    /// Set or remove the seat limit (a limit below the seats in use is allowed: it only
    /// stops new seats being taken).
    #[oai(path = "/seats", method = "put")]
    async fn set_seats(&self, req: &Request, _auth: AdminToken, body: Json<SeatsIn>) -> Answer<SeatsOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let mut s = tx.settings().await?;
        let before = s.seat_limit;
        s.seat_limit = body.0.limit;
        tx.save_settings(&s).await?;
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "tenant.seat_limit",
            Some(serde_json::json!({"limit": before})),
            Some(serde_json::json!({"limit": s.seat_limit})),
        )
        .await?;
        let used = tx.seats_used().await?;
        tx.commit().await?;
        let seats = Seats { limit: s.seat_limit, used };
        Ok(Json(SeatsOut { limit: seats.limit, used, free: seats.free() }))
    }

    #[oai(path = "/policies", method = "get")]
    async fn policies(&self, req: &Request, _auth: AdminToken) -> Answer<PoliciesOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let s = tx.settings().await?;
        tx.commit().await?;
        Ok(Json(policies(&s)))
    }

    /// Change the tenant's policies; fields left out keep their value.
    #[oai(path = "/policies", method = "put")]
    async fn set_policies(&self, req: &Request, _auth: AdminToken, body: Json<PoliciesIn>) -> Answer<PoliciesOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let b = body.0;
        let mut tx = begin(&self.state, &ctx).await?;
        let mut s = tx.settings().await?;
        let before = policies(&s);
        let target =
            |v: &str| UserTarget::parse(v).ok_or_else(|| bad(format!("expected `invited` or `active`, got `{v}`")));
        if let Some(v) = &b.scim_create {
            s.scim_create = target(v)?;
        }
        if let Some(v) = &b.scim_reactivate {
            s.scim_reactivate = target(v)?;
        }
        if let Some(v) = &b.scim_deactivate {
            s.scim_deactivate =
                Deactivation::parse(v).ok_or_else(|| bad(format!("expected `contact` or `deleted`, got `{v}`")))?;
        }
        if let Some(v) = b.send_invitations {
            s.send_invitations = v;
        }
        if let Some(h) = b.link_validity_hours {
            if !(1..=24 * 30).contains(&h) {
                return Err(bad("linkValidityHours is between 1 and 720"));
            }
            s.link_validity_hours = h;
        }
        tx.save_settings(&s).await?;
        let after = policies(&s);
        ops::audit_raw(
            tx.as_mut(),
            &ctx,
            "tenant.policies",
            serde_json::to_value(PoliciesSnapshot::of(&before)).ok(),
            serde_json::to_value(PoliciesSnapshot::of(&after)).ok(),
        )
        .await?;
        tx.commit().await?;
        Ok(Json(after))
    }

    /// Turn the public join link on, or rotate it (the old one stops working).
    #[oai(path = "/join-link", method = "post")]
    async fn join_link(&self, req: &Request, _auth: AdminToken) -> Answer<JoinLinkOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let (token, key) = secret::mint_link(&ctx.tenant, ctx.now);
        let mut tx = begin(&self.state, &ctx).await?;
        tx.set_join_link_hash(Some(&key)).await?;
        ops::audit_raw(tx.as_mut(), &ctx, "tenant.join_link_rotate", None, None).await?;
        tx.commit().await?;
        Ok(Json(JoinLinkOut { url: format!("{}/auth/join/{token}", app_url(&self.state, req)) }))
    }

    /// Turn the public join link off.
    #[oai(path = "/join-link", method = "delete")]
    async fn disable_join_link(&self, req: &Request, _auth: AdminToken) -> Answer<PoliciesOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        tx.set_join_link_hash(None).await?;
        ops::audit_raw(tx.as_mut(), &ctx, "tenant.join_link_disable", None, None).await?;
        let s = tx.settings().await?;
        tx.commit().await?;
        Ok(Json(policies(&s)))
    }
}

#[derive(serde::Serialize)]
struct PoliciesSnapshot<'a> {
    scim_create: &'a str,
    scim_deactivate: &'a str,
    scim_reactivate: &'a str,
    send_invitations: bool,
    link_validity_hours: u32,
}

impl<'a> PoliciesSnapshot<'a> {
    fn of(p: &'a PoliciesOut) -> Self {
        Self {
            scim_create: &p.scim_create,
            scim_deactivate: &p.scim_deactivate,
            scim_reactivate: &p.scim_reactivate,
            send_invitations: p.send_invitations,
            link_validity_hours: p.link_validity_hours,
        }
    }
}

#[OpenApi(tag = "Tag::Records")]
impl RecordsApi {
    /// The audit log, newest first, filtered by person, actor (`token:<id>`,
    /// `person:<id>`, `join-link`), action (`person.invite`, …) and time.
    #[oai(path = "/audit", method = "get")]
    #[expect(clippy::too_many_arguments, reason = "one argument per query parameter, as poem-openapi documents them")]
    async fn audit(
        &self,
        req: &Request,
        _auth: AdminToken,
        person: Query<Option<String>>,
        actor: Query<Option<String>>,
        action: Query<Option<String>>,
        since: Query<Option<String>>,
        until: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> Answer<Vec<AuditOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let q = AuditQuery {
            person: person.0,
            actor: actor.0,
            action: action.0,
            since: time_param(since.0.as_deref())?,
            until: time_param(until.0.as_deref())?,
            limit: limit.0.unwrap_or(100).min(1000),
        };
        let mut tx = read(&self.state, &ctx).await?;
        let entries = tx.audit_log(&q).await?;
        tx.commit().await?;
        Ok(Json(
            entries
                .into_iter()
                .map(|e| AuditOut {
                    id: e.id,
                    at: timefmt::format(e.at),
                    actor: e.actor,
                    action: e.action,
                    person: e.person,
                    before: e.before,
                    after: e.after,
                })
                .collect(),
        ))
    }

    /// The notification outbox: `status=pending` or `sent`, by person.
    #[oai(path = "/outbox", method = "get")]
    async fn outbox(
        &self,
        req: &Request,
        _auth: AdminToken,
        status: Query<Option<String>>,
        person: Query<Option<String>>,
        limit: Query<Option<u64>>,
    ) -> Answer<Vec<OutboxOut>> {
        let ctx = admin_ctx(&self.state, req).await?;
        let sent = match status.0.as_deref() {
            None => None,
            Some("pending") => Some(false),
            Some("sent") => Some(true),
            Some(other) => return Err(bad(format!("status is `pending` or `sent`, got `{other}`"))),
        };
        let mut tx = read(&self.state, &ctx).await?;
        let list = tx.outbox(&OutboxQuery { sent, person: person.0, limit: limit.0.unwrap_or(100).min(1000) }).await?;
        tx.commit().await?;
        Ok(Json(
            list.into_iter()
                .map(|m| OutboxOut {
                    id: m.id,
                    person: m.person,
                    kind: m.kind,
                    recipient: m.recipient,
                    subject: m.subject,
                    body: m.body,
                    created: timefmt::format(m.created_at),
                    attempts: m.attempts,
                    next_attempt_at: timefmt::format(m.next_attempt_at),
                    sent_at: m.sent_at.map(timefmt::format),
                    last_error: m.last_error,
                })
                .collect(),
        ))
    }
}
