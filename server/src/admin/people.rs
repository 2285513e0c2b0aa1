//! People: list, search, show (with projects), every lifecycle transition, role, permission
//! and profile changes, bulk invite.

use std::sync::Arc;

use poem::Request;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi, Tags};

use crate::domain::lifecycle::{Action, InvitationStatus, State, UserTarget};
use crate::domain::people::{PeopleQuery, Person};
use crate::domain::people_ops::{self as ops, Ctx};
use crate::protocol::people::views;
use crate::protocol::AppState;

use super::dto::*;
use super::{admin_ctx, begin, read, AdminToken, Answer, ErrorBody, Failure};

#[derive(Tags)]
pub enum Tag {
    /// People and their lifecycle.
    People,
}

pub struct PeopleApi {
    pub state: Arc<AppState>,
}

#[derive(ApiResponse)]
pub enum Created {
    #[oai(status = 201)]
    Created(Json<PersonOut>),
}

pub async fn show(state: &AppState, ctx: &Ctx, person: Person) -> Result<PersonOut, Failure> {
    let view = views(state, &ctx.tenant, vec![person])
        .await?
        .pop()
        .ok_or_else(|| Failure::from(crate::domain::Error::Storage("no view".into())))?;
    Ok(PersonOut::of(&view, ctx.now))
}

impl PeopleApi {
    /// Runs a use case on one person in one transaction and answers the person.
    async fn on_person<F>(&self, req: &Request, id: &str, f: F) -> Answer<PersonOut>
    where
        F: for<'a> FnOnce(
                &'a mut dyn crate::domain::people_store::PeopleTx,
                &'a Ctx,
                &'a str,
            ) -> std::pin::Pin<
                Box<dyn std::future::Future<Output = crate::domain::Result<Person>> + Send + 'a>,
            > + Send,
    {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let person = f(tx.as_mut(), &ctx, id).await?;
        tx.commit().await?;
        Ok(Json(show(&self.state, &ctx, person).await?))
    }
}

#[OpenApi(prefix_path = "/people", tag = "Tag::People")]
impl PeopleApi {
    /// List people: by state (`invited`, `active`, `contact`, `deleted`), archived ones
    /// with `archived=true`, by invitation status (`unsent`, `pending`, `not_accepted`,
    /// `accepted`), a search over userName, e-mails and names, or a role.
    #[oai(path = "/", method = "get")]
    #[expect(clippy::too_many_arguments, reason = "one argument per query parameter, as poem-openapi documents them")]
    async fn list(
        &self,
        req: &Request,
        _auth: AdminToken,
        state: Query<Option<String>>,
        #[oai(default)] archived: Query<bool>,
        search: Query<Option<String>>,
        role: Query<Option<String>>,
        invitation: Query<Option<String>>,
        #[oai(default)] offset: Query<u64>,
        limit: Query<Option<u64>>,
    ) -> Answer<PeopleList> {
        let ctx = admin_ctx(&self.state, req).await?;
        let states = match state.0.as_deref() {
            None => Vec::new(),
            Some(s) => vec![State::parse(s).ok_or_else(|| bad(format!("unknown state `{s}`")))?],
        };
        let invitation = match invitation.0.as_deref() {
            None => None,
            Some(s) => Some((
                [
                    InvitationStatus::Unsent,
                    InvitationStatus::Pending,
                    InvitationStatus::NotAccepted,
                    InvitationStatus::Accepted,
                ]
                .into_iter()
                .find(|st| st.as_str() == s)
                .ok_or_else(|| bad(format!("unknown invitation status `{s}`")))?,
                ctx.now,
            )),
        };
        let query = PeopleQuery {
            ids: None,
            states,
            archived: archived.0,
            search: search.0,
            role: role.0,
            invitation,
            offset: offset.0,
            limit: limit.0.unwrap_or(100).min(1000),
        };
        let mut tx = read(&self.state, &ctx).await?;
        let (total, people) = tx.people(&query).await?;
        tx.commit().await?;
        let items = views(&self.state, &ctx.tenant, people).await?.iter().map(|v| PersonOut::of(v, ctx.now)).collect();
        Ok(Json(PeopleList { total, items }))
    }

    /// One person, with their projects.
    #[oai(path = "/:id", method = "get")]
    async fn get(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = read(&self.state, &ctx).await?;
        let person = ops::load(tx.as_mut(), &id.0).await?;
        tx.commit().await?;
        Ok(Json(show(&self.state, &ctx, person).await?))
    }

    /// Invite a user: a sign-up link valid 24 hours (a tenant setting) is mailed, unless
    /// `send` is false ("add without sending").
    #[oai(path = "/invite", method = "post")]
    async fn invite(&self, req: &Request, _auth: AdminToken, body: Json<PersonIn>) -> Result<Created, Failure> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let person = ops::invite(tx.as_mut(), &ctx, &body.0.input(), body.0.send.unwrap_or(true)).await?;
        tx.commit().await?;
        Ok(Created::Created(Json(show(&self.state, &ctx, person).await?)))
    }

    /// Invite many e-mails at once; each is its own transaction and gets its own result.
    #[oai(path = "/bulk-invite", method = "post")]
    async fn bulk_invite(&self, req: &Request, _auth: AdminToken, body: Json<BulkInviteIn>) -> Answer<BulkInviteOut> {
        let ctx = admin_ctx(&self.state, req).await?;
        if body.0.emails.len() > 1000 {
            return Err(bad("at most 1000 e-mails per bulk invite"));
        }
        let mut results = Vec::new();
        for email in &body.0.emails {
            let input = ops::PersonInput {
                email: Some(email.clone()),
                user_type: body.0.user_type.map(Into::into),
                role: body.0.role.clone(),
                ..ops::PersonInput::default()
            };
            let mut tx = begin(&self.state, &ctx).await?;
            let outcome = match ops::invite(tx.as_mut(), &ctx, &input, body.0.send.unwrap_or(true)).await {
                Ok(p) => tx.commit().await.map(|()| p),
                Err(e) => Err(e),
            };
            results.push(match outcome {
                Ok(p) => BulkInviteResult { email: email.clone(), id: Some(p.id), error: None },
                Err(e) => {
                    let f = Failure::from(e);
                    BulkInviteResult { email: email.clone(), id: None, error: Some(error_body(f)) }
                }
            });
        }
        let invited = u32::try_from(results.iter().filter(|r| r.id.is_some()).count()).unwrap_or(u32::MAX);
        let failed = u32::try_from(results.len()).unwrap_or(u32::MAX) - invited;
        Ok(Json(BulkInviteOut { invited, failed, results }))
    }

    /// Add a contact: no sign-in, no seat, e-mail optional.
    #[oai(path = "/contacts", method = "post")]
    async fn contact(&self, req: &Request, _auth: AdminToken, body: Json<PersonIn>) -> Result<Created, Failure> {
        let ctx = admin_ctx(&self.state, req).await?;
        let mut tx = begin(&self.state, &ctx).await?;
        let person = ops::create_contact(tx.as_mut(), &ctx, &body.0.input()).await?;
        tx.commit().await?;
        Ok(Created::Created(Json(show(&self.state, &ctx, person).await?)))
    }

    /// Send the invitation (again): a new link valid 24 hours; the old one stops working.
    #[oai(path = "/:id/resend", method = "post")]
    async fn resend(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        self.on_person(req, &id.0, |tx, ctx, id| Box::pin(ops::act(tx, ctx, id, Action::Resend))).await
    }

    /// Cancel an invitation: the link stops working and the seat is freed.
    #[oai(path = "/:id/cancel-invitation", method = "post")]
    async fn cancel(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        self.on_person(req, &id.0, |tx, ctx, id| Box::pin(ops::act(tx, ctx, id, Action::CancelInvitation))).await
    }

    /// Contact → user: a role other than contact and an e-mail nobody else has.
    #[oai(path = "/:id/convert-to-user", method = "post")]
    async fn to_user(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        body: Json<ConvertToUserIn>,
    ) -> Answer<PersonOut> {
        let b = body.0;
        self.on_person(req, &id.0, move |tx, ctx, id| {
            Box::pin(async move {
                let target = if b.activate { UserTarget::Active } else { UserTarget::Invited };
                ops::convert_to_user(tx, ctx, id, &b.role, b.email.as_deref(), b.user_type.map(Into::into), target)
                    .await
            })
        })
        .await
    }

    /// User → contact: no more sign-in; memberships, assignments and permissions are kept.
    #[oai(path = "/:id/convert-to-contact", method = "post")]
    async fn to_contact(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        self.on_person(req, &id.0, |tx, ctx, id| {
            Box::pin(crate::domain::reassign::run::deprovision(tx, ctx, id, Action::ConvertToContact))
        })
        .await
    }

    /// Delete (archive): hidden unless `archived=true`, restorable.
    #[oai(path = "/:id", method = "delete")]
    async fn delete(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        self.on_person(req, &id.0, |tx, ctx, id| {
            Box::pin(crate::domain::reassign::run::deprovision(tx, ctx, id, Action::Delete))
        })
        .await
    }

    /// Restore an archived person: invited again, with a new sign-up link.
    #[oai(path = "/:id/restore", method = "post")]
    async fn restore(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        self.on_person(req, &id.0, |tx, ctx, id| Box::pin(ops::act(tx, ctx, id, Action::Restore))).await
    }

    /// Change the company role; extra permissions the new role does not allow are dropped.
    #[oai(path = "/:id/role", method = "put")]
    async fn role(&self, req: &Request, _auth: AdminToken, id: Path<String>, body: Json<RoleIn>) -> Answer<PersonOut> {
        let role = body.0.role;
        self.on_person(req, &id.0, move |tx, ctx, id| {
            Box::pin(async move { ops::change_role(tx, ctx, id, &role).await })
        })
        .await
    }

    /// Set the extra company permissions (each must be grantable under the person's role).
    #[oai(path = "/:id/permissions", method = "put")]
    async fn permissions(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        body: Json<PermissionsIn>,
    ) -> Answer<PersonOut> {
        let perms = body.0.permissions;
        self.on_person(req, &id.0, move |tx, ctx, id| {
            Box::pin(async move { ops::change_permissions(tx, ctx, id, &perms).await })
        })
        .await
    }

    /// Change the user type or the partner flag (which decide the seat).
    #[oai(path = "/:id/profile", method = "patch")]
    async fn profile(
        &self,
        req: &Request,
        _auth: AdminToken,
        id: Path<String>,
        body: Json<ProfileIn>,
    ) -> Answer<PersonOut> {
        let b = body.0;
        self.on_person(req, &id.0, move |tx, ctx, id| {
            Box::pin(async move { ops::change_profile(tx, ctx, id, b.user_type.map(Into::into), b.partner).await })
        })
        .await
    }

    /// Mail the person a password-reset link (on their behalf).
    #[oai(path = "/:id/password-reset", method = "post")]
    async fn reset(&self, req: &Request, _auth: AdminToken, id: Path<String>) -> Answer<PersonOut> {
        self.on_person(req, &id.0, |tx, ctx, id| {
            Box::pin(async move {
                let p = ops::load(tx, id).await?;
                ops::request_reset(tx, ctx, &p).await?;
                Ok(p)
            })
        })
        .await
    }
}

pub fn error_body(f: Failure) -> ErrorBody {
    match f {
        Failure::BadRequest(b)
        | Failure::Unauthorized(b)
        | Failure::Forbidden(b)
        | Failure::NotFound(b)
        | Failure::MethodNotAllowed(b)
        | Failure::Conflict(b)
        | Failure::Gone(b)
        | Failure::TooLarge(b)
        | Failure::Internal(b) => b.0,
    }
}
