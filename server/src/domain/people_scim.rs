//! SCIM writes of Users as lifecycle moves, by tenant policy: a POST invites (or, for
//! SSO-only tenants, activates; with `active: false` it adds a contact); `active: false`
//! makes a contact (or archives); `active: true` on a contact converts it back; DELETE
//! archives; a POST of an archived person's userName or externalId restores that person.
//! `roles` (primary value) sets the company role, `userType` and the extension's
//! `partner` the seat.

use serde_json::{Map, Value};

use super::lifecycle::{Action, State, UserTarget, UserType};
use super::people::{role_from_doc, NewPerson, Person};
use super::people_ops::{self as ops, Ctx};
use super::people_store::PeopleTx;
use super::resource::{Mutation, Precondition};
use super::roles;
use super::settings::Deactivation;
use super::{Error, Refusal, Result};

pub use super::schema::{ROLLCALL_GROUP as GROUP_EXTENSION, ROLLCALL_USER as USER_EXTENSION};

/// What the document says about the profile.
struct DocProfile {
    user_type: Option<UserType>,
    role: Option<String>,
    partner: Option<bool>,
    active: Option<bool>,
}

/// Reads the profile out of the document. Of the extension only `partner` is writable (and
/// so kept as sent); the rest is rendered from the lifecycle.
fn take_profile(data: &mut Map<String, Value>) -> Result<DocProfile> {
    let user_type = match data.get("userType").and_then(Value::as_str) {
        None => None,
        Some(s) => Some(UserType::parse(s).ok_or_else(|| {
            Error::InvalidValue(format!("userType must be Employee, Contractor or Client, got `{s}`"))
        })?),
    };
    let partner = data.get(USER_EXTENSION).and_then(|e| e.get("partner")).and_then(Value::as_bool);
    Ok(DocProfile {
        user_type,
        role: role_from_doc(data),
        partner,
        active: data.get("active").and_then(Value::as_bool),
    })
}

pub async fn create(tx: &mut dyn PeopleTx, ctx: &Ctx, mut data: Map<String, Value>) -> Result<Person> {
    let settings = tx.settings().await?;
    let profile = take_profile(&mut data)?;
    let action = match (profile.active, settings.scim_create) {
        (Some(false), _) => Action::CreateContact,
        (_, UserTarget::Active) => Action::Provision,
        (_, UserTarget::Invited) => Action::Invite,
    };
    let identity = ops::identity_of(tx, &data).await?;
    if let Some(id) = &identity.archived {
        return restore(tx, ctx, id, data, profile, action).await;
    }
    let new = NewPerson {
        data,
        state: State::Invited,
        user_type: profile.user_type.unwrap_or(UserType::Employee),
        partner: profile.partner.unwrap_or(false),
        role: profile.role.unwrap_or_else(|| roles::MEMBER.into()),
        permissions: Vec::new(),
        invitation: super::lifecycle::Invitation { sent_at: None, expires_at: None },
    };
    ops::create_checked(tx, ctx, new, action, settings.send_invitations, &identity).await
}

/// The archived person comes back with the same id, grants and history.
async fn restore(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    id: &str,
    data: Map<String, Value>,
    profile: DocProfile,
    action: Action,
) -> Result<Person> {
    let before = ops::load(tx, id).await?;
    let mut person = before.clone();
    person.data = data;
    apply_profile(tx, &mut person, &profile).await?;
    let action = if action == Action::Invite { Action::Restore } else { action };
    let send = tx.settings().await?.send_invitations;
    ops::move_person_with(tx, ctx, &before, person, action, send).await
}

async fn apply_profile(tx: &mut dyn PeopleTx, person: &mut Person, profile: &DocProfile) -> Result<()> {
    if let Some(t) = profile.user_type {
        person.user_type = t;
    }
    if let Some(p) = profile.partner {
        person.partner = p;
    }
    if let Some(name) = &profile.role {
        if *name != person.role {
            let role = ops::role(tx, name).await.map_err(|e| match e {
                Error::Refused { message, .. } => Error::InvalidValue(message),
                other => other,
            })?;
            person.permissions = role.keep_grantable(&person.permissions);
            person.role = role.name;
        }
    }
    Ok(())
}

/// PUT and PATCH: the mutation runs on the stored document; what changed in `active`,
/// `roles`, `userType` and `partner` becomes the matching lifecycle move.
pub async fn update(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    id: &str,
    precondition: &Precondition,
    mutation: Mutation,
) -> Result<Person> {
    let before = tx
        .person(id)
        .await?
        .filter(|p| p.state != State::Deleted)
        .ok_or_else(|| Error::NotFound(format!("User {id} not found")))?;
    if !precondition.allows(before.version) {
        return Err(Error::VersionMismatch);
    }
    let settings = tx.settings().await?;
    let mut data = before.data.clone();
    mutation(&mut data)?;
    let profile = take_profile(&mut data)?;
    let user_name = data.get("userName").and_then(Value::as_str).unwrap_or_default();
    if user_name.is_empty() {
        return Err(Error::InvalidValue("userName is required".into()));
    }
    let mut person = before.clone();
    person.data = data;
    apply_profile(tx, &mut person, &profile).await?;
    let action = match (profile.active, before.state) {
        (Some(false), State::Invited | State::Active) => Some(match settings.scim_deactivate {
            Deactivation::Contact => Action::ConvertToContact,
            Deactivation::Deleted => Action::Delete,
        }),
        (Some(true), State::Contact) => Some(Action::ConvertToUser(settings.scim_reactivate)),
        _ => None,
    };
    let role_changed = before.effective_role() != person.effective_role();
    let saved = match action {
        Some(action) => {
            if matches!(action, Action::ConvertToUser(_)) {
                if let Some(email) = person.email() {
                    if tx.email_taken(&email, &person.id).await? {
                        return Err(Error::refused(
                            Refusal::EmailTaken,
                            format!("another person already has the e-mail {email}"),
                        ));
                    }
                }
            }
            let saved = ops::move_person_with(tx, ctx, &before, person, action, settings.send_invitations).await?;
            if matches!(action, Action::Delete | Action::ConvertToContact) {
                super::reassign::run::on_deprovision(tx, ctx, &saved.id).await?;
            }
            saved
        }
        None => ops::save_changes(tx, ctx, &before, person, "person.update").await?,
    };
    if role_changed {
        ops::notify(tx, ctx, &saved, &super::notify::Notice::RoleChanged { role: saved.effective_role().to_owned() })
            .await?;
    }
    Ok(saved)
}

pub async fn delete(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, precondition: &Precondition) -> Result<()> {
    let person = tx
        .person(id)
        .await?
        .filter(|p| p.state != State::Deleted)
        .ok_or_else(|| Error::NotFound(format!("User {id} not found")))?;
    if !precondition.allows(person.version) {
        return Err(Error::VersionMismatch);
    }
    let was_live = matches!(person.state, State::Invited | State::Active);
    let saved = ops::move_person(tx, ctx, &person.clone(), person, Action::Delete).await?;
    if was_live {
        super::reassign::run::on_deprovision(tx, ctx, &saved.id).await?;
    }
    Ok(())
}
