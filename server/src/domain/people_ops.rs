//! The lifecycle's use cases, each run on one [`PeopleTx`]: check the state machine and the
//! rules (seats, last admin, e-mail uniqueness, role permissions), write the change, its
//! audit entry and its notification. The caller commits; an error leaves nothing behind.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::audit::{Actor, AuditEntry};
use super::lifecycle::{transition, Action, Invitation, State, UserTarget, UserType};
use super::notify::{Notice, OutboxMessage};
use super::people::{set_primary_email, Identity, NewPerson, Person};
use super::people_store::PeopleTx;
use super::resource::TenantId;
use super::roles::{self, Role};
use super::secret::{self, LinkPurpose, LinkRecord};
use super::settings::TenantSettings;
use super::{Error, Refusal, Result};

/// Who acts, when, for which tenant, and where links point.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub tenant: TenantId,
    pub tenant_name: String,
    pub actor: Actor,
    pub now: OffsetDateTime,
    /// The base of the links in mails: `<base>/signup/<token>`, `<base>/reset/<token>`.
    pub links: String,
}

/// Who to invite or add.
#[derive(Debug, Clone, Default)]
pub struct PersonInput {
    pub email: Option<String>,
    pub user_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub user_type: Option<UserType>,
    pub role: Option<String>,
    pub partner: bool,
    pub permissions: Vec<String>,
}

pub async fn load(tx: &mut dyn PeopleTx, id: &str) -> Result<Person> {
    tx.person(id).await?.ok_or_else(|| Error::NotFound(format!("no person with id {id}")))
}

/// A role by name, refusing `contact` (a state, not a role) and unknown names.
pub async fn role(tx: &mut dyn PeopleTx, name: &str) -> Result<Role> {
    if name == roles::CONTACT {
        return Err(Error::refused(
            Refusal::UnknownRole,
            "`contact` is not a company role: convert the person to a contact instead",
        ));
    }
    tx.role(name)
        .await?
        .ok_or_else(|| Error::refused(Refusal::UnknownRole, format!("there is no company role `{name}`")))
}

pub fn check_email(email: &str) -> Result<String> {
    let email = email.trim();
    let ok = email.len() <= 254
        && email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
        && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(email.to_owned())
    } else {
        Err(Error::InvalidValue(format!("`{email}` is not an e-mail address")))
    }
}

/// The SCIM document of a person the admin API creates.
fn new_doc(input: &PersonInput, email: Option<&str>) -> Result<Map<String, Value>> {
    let user_name = input
        .user_name
        .clone()
        .or_else(|| email.map(str::to_owned))
        .or_else(|| {
            let parts: Vec<&str> =
                [input.given_name.as_deref(), input.family_name.as_deref()].into_iter().flatten().collect();
            (!parts.is_empty())
                .then(|| format!("{}-{}", parts.join(".").to_lowercase(), &uuid::Uuid::new_v4().to_string()[..8]))
        })
        .ok_or_else(|| Error::InvalidValue("give an e-mail, a userName or a name".into()))?;
    let mut data = Map::new();
    data.insert("userName".into(), Value::from(user_name));
    let mut name = Map::new();
    if let Some(g) = &input.given_name {
        name.insert("givenName".into(), Value::from(g.clone()));
    }
    if let Some(f) = &input.family_name {
        name.insert("familyName".into(), Value::from(f.clone()));
    }
    if !name.is_empty() {
        data.insert("name".into(), Value::Object(name));
    }
    if let Some(d) = &input.display_name {
        data.insert("displayName".into(), Value::from(d.clone()));
    }
    if let Some(e) = email {
        set_primary_email(&mut data, e);
    }
    // What the admin chose is shown to SCIM clients too.
    data.insert("userType".into(), Value::from(input.user_type.unwrap_or(UserType::Employee).as_str()));
    super::people::set_primary_role(&mut data, input.role.as_deref().unwrap_or(roles::MEMBER));
    Ok(data)
}

async fn seat_check(tx: &mut dyn PeopleTx, settings: &TenantSettings, before: bool, after: bool) -> Result<()> {
    let Some(limit) = settings.seat_limit else { return Ok(()) };
    if after && !before {
        let used = tx.seats_used().await?;
        if used + 1 > u64::from(limit) {
            return Err(Error::refused(
                Refusal::SeatLimit,
                format!("all {limit} seats are taken: free a seat or raise the limit first"),
            ));
        }
    }
    Ok(())
}

fn live_admin(p: &Person) -> bool {
    p.state.scim_active() && p.effective_role() == roles::ADMIN
}

async fn last_admin_check(tx: &mut dyn PeopleTx, before: &Person, after: &Person) -> Result<()> {
    if live_admin(before) && !live_admin(after) && tx.admins_other_than(&before.id).await? == 0 {
        return Err(Error::refused(
            Refusal::LastAdmin,
            "this is the tenant's last admin: make someone else admin first",
        ));
    }
    Ok(())
}

pub async fn audit(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    action: &str,
    before: Option<&Person>,
    after: Option<&Person>,
) -> Result<()> {
    let person = after.or(before).map(|p| p.id.clone());
    let entry = AuditEntry::new(
        ctx.now,
        &ctx.actor,
        action,
        person.as_deref(),
        before.map(Person::snapshot),
        after.map(Person::snapshot),
    );
    tx.audit(&entry).await
}

/// Queues `notice` for the person; people without an e-mail are not told.
pub async fn notify(tx: &mut dyn PeopleTx, ctx: &Ctx, person: &Person, notice: &Notice) -> Result<()> {
    let Some(to) = person.email() else { return Ok(()) };
    let message = OutboxMessage::new(
        &ctx.tenant.0,
        Some(&person.id),
        notice.kind(),
        &to,
        notice.compose(&person.display_name(), &ctx.tenant_name),
        ctx.now,
    );
    tx.enqueue(&message).await
}

/// A link minted but not stored yet.
struct Minted {
    token: String,
    key: String,
    expires_at: OffsetDateTime,
}

fn mint(ctx: &Ctx, settings: &TenantSettings) -> Minted {
    let (token, key) = secret::mint_link(&ctx.tenant, ctx.now);
    Minted { token, key, expires_at: ctx.now + settings.link_validity() }
}

/// Issues a fresh single-use link (the previous ones of the same purpose stop working).
async fn issue_link(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    settings: &TenantSettings,
    person: &str,
    purpose: LinkPurpose,
) -> Result<(String, OffsetDateTime)> {
    let minted = mint(ctx, settings);
    tx.kill_links(person, purpose, ctx.now).await?;
    store_link(tx, ctx, minted, person, purpose).await
}

/// Stores a minted link (the person has no other unused link of this purpose).
async fn store_link(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    minted: Minted,
    person: &str,
    purpose: LinkPurpose,
) -> Result<(String, OffsetDateTime)> {
    let Minted { token, key, expires_at } = minted;
    tx.put_link(&LinkRecord {
        key,
        person: person.to_owned(),
        purpose,
        created_at: ctx.now,
        expires_at,
        used_at: None,
    })
    .await?;
    let path = match purpose {
        LinkPurpose::SignUp => "signup",
        LinkPurpose::PasswordReset => "reset",
    };
    Ok((format!("{}/{path}/{token}", ctx.links.trim_end_matches('/')), expires_at))
}

/// Sends (or re-sends) the sign-up link of an invited person and queues the mail.
async fn send_invitation(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    settings: &TenantSettings,
    person: &mut Person,
    restored: bool,
) -> Result<()> {
    if person.email().is_none() {
        return Err(Error::refused(Refusal::EmailRequired, "an invitation needs an e-mail address"));
    }
    let (link, expires_at) = issue_link(tx, ctx, settings, &person.id, LinkPurpose::SignUp).await?;
    person.invitation = Invitation { sent_at: Some(ctx.now), expires_at: Some(expires_at) };
    let notice = if restored { Notice::Restored { link, expires_at } } else { Notice::Invitation { link, expires_at } };
    notify(tx, ctx, person, &notice).await
}

/// Who already has the userName or externalId of a document.
pub async fn identity_of(tx: &mut dyn PeopleTx, data: &Map<String, Value>) -> Result<Identity> {
    let user_name = data.get("userName").and_then(Value::as_str).unwrap_or_default();
    tx.identity(user_name, data.get("externalId").and_then(Value::as_str)).await
}

/// Creates a person in `state` from a ready document, with every rule checked.
pub async fn create(tx: &mut dyn PeopleTx, ctx: &Ctx, new: NewPerson, action: Action, send: bool) -> Result<Person> {
    let identity = identity_of(tx, &new.data).await?;
    create_checked(tx, ctx, new, action, send, &identity).await
}

/// As [`create`], with the identity of `new` already looked up in this transaction.
pub async fn create_checked(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    mut new: NewPerson,
    action: Action,
    send: bool,
    identity: &Identity,
) -> Result<Person> {
    let settings = tx.settings().await?;
    new.state = transition(None, action)?;
    let role = role(tx, &new.role).await?;
    role.check_grants(&new.permissions)?;
    if let Some(label) = identity.taken() {
        return Err(Error::Uniqueness(format!("a User with this {label} already exists")));
    }
    seat_check(tx, &settings, false, super::lifecycle::takes_seat(new.state, new.user_type, new.partner)).await?;
    new.data.insert("active".into(), Value::Bool(new.state.scim_active()));
    if new.data.contains_key("userType") {
        new.data.insert("userType".into(), Value::from(new.user_type.as_str()));
    }
    if new.data.contains_key("roles") {
        super::people::set_primary_role(&mut new.data, &new.role);
    }
    // Without an e-mail there is nowhere to send a link: the invitation stays unsent.
    let sending = new.state == State::Invited && send && super::people::primary_email(&new.data).is_some();
    let link = sending.then(|| mint(ctx, &settings));
    if let Some(l) = &link {
        new.invitation = Invitation { sent_at: Some(ctx.now), expires_at: Some(l.expires_at) };
    }
    let person = tx.insert_person(&new, ctx.now).await?;
    if let Some(l) = link {
        // A person just made has no earlier link to end.
        let (url, expires_at) = store_link(tx, ctx, l, &person.id, LinkPurpose::SignUp).await?;
        notify(tx, ctx, &person, &Notice::Invitation { link: url, expires_at }).await?;
    }
    audit(tx, ctx, action.as_str(), None, Some(&person)).await?;
    Ok(person)
}

/// Invite (admin API, bulk invite, join link): a new invited user, mailed unless `send` is off.
pub async fn invite(tx: &mut dyn PeopleTx, ctx: &Ctx, input: &PersonInput, send: bool) -> Result<Person> {
    let email = input.email.as_deref().map(check_email).transpose()?;
    let Some(email) = email else {
        return Err(Error::refused(Refusal::EmailRequired, "an invitation needs an e-mail address"));
    };
    if tx.email_taken(&email, "").await? {
        return Err(Error::refused(Refusal::EmailTaken, format!("another person already has the e-mail {email}")));
    }
    let data = new_doc(input, Some(&email))?;
    let new = NewPerson {
        data,
        state: State::Invited,
        user_type: input.user_type.unwrap_or(UserType::Employee),
        partner: input.partner,
        role: input.role.clone().unwrap_or_else(|| roles::MEMBER.into()),
        permissions: input.permissions.clone(),
        invitation: Invitation { sent_at: None, expires_at: None },
    };
    create(tx, ctx, new, Action::Invite, send).await
}

/// A contact: no sign-in, no seat, e-mail optional.
pub async fn create_contact(tx: &mut dyn PeopleTx, ctx: &Ctx, input: &PersonInput) -> Result<Person> {
    let email = input.email.as_deref().map(check_email).transpose()?;
    // An e-mail belongs to one person of the tenant, contact or user (the seeds' rule), so
    // that the contact can become a user later.
    if let Some(e) = &email {
        if tx.email_taken(e, "").await? {
            return Err(Error::refused(Refusal::EmailTaken, format!("another person already has the e-mail {e}")));
        }
    }
    let data = new_doc(input, email.as_deref())?;
    let new = NewPerson {
        data,
        state: State::Contact,
        user_type: input.user_type.unwrap_or(UserType::Client),
        partner: input.partner,
        role: input.role.clone().unwrap_or_else(|| roles::MEMBER.into()),
        permissions: input.permissions.clone(),
        invitation: Invitation { sent_at: None, expires_at: None },
    };
    create(tx, ctx, new, Action::CreateContact, false).await
}

/// Moves a person with `action` and the rules that go with any state change.
/// `before` is the person as stored; `person` may carry other changes made with the move.
/// Invitations that come with the move are mailed.
pub async fn move_person(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    before: &Person,
    person: Person,
    action: Action,
) -> Result<Person> {
    move_person_with(tx, ctx, before, person, action, true).await
}

/// As [`move_person`]; `send` says whether a sign-up link that comes with a conversion or a
/// restore is mailed (SCIM writes follow the tenant's `send_invitations` policy). A resend
/// always sends.
pub async fn move_person_with(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    before: &Person,
    mut person: Person,
    action: Action,
    send: bool,
) -> Result<Person> {
    let settings = tx.settings().await?;
    person.state = transition(Some(before.state), action)?;
    last_admin_check(tx, before, &person).await?;
    seat_check(tx, &settings, before.takes_seat(), person.takes_seat()).await?;
    match action {
        Action::Resend => send_invitation(tx, ctx, &settings, &mut person, false).await?,
        // Without an e-mail (or when told not to) the invitation stays unsent, to send later.
        Action::Restore | Action::ConvertToUser(UserTarget::Invited) => {
            person.invitation = Invitation { sent_at: None, expires_at: None };
            if send && person.email().is_some() {
                send_invitation(tx, ctx, &settings, &mut person, action == Action::Restore).await?;
            }
        }
        Action::CancelInvitation | Action::Delete | Action::ConvertToContact => {
            tx.kill_links(&person.id, LinkPurpose::SignUp, ctx.now).await?;
            tx.kill_links(&person.id, LinkPurpose::PasswordReset, ctx.now).await?;
            if action != Action::ConvertToContact {
                person.invitation = Invitation { sent_at: None, expires_at: None };
            }
        }
        _ => {}
    }
    if action == Action::Delete {
        notify(tx, ctx, &person, &Notice::Deleted).await?;
    }
    // A move is always visible to SCIM clients as `active`.
    person.data.insert("active".into(), Value::Bool(person.state.scim_active()));
    person.sync_doc();
    let saved = tx.save_person(&person, ctx.now).await?;
    audit(tx, ctx, action.as_str(), Some(before), Some(&saved)).await?;
    Ok(saved)
}

pub async fn act(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, action: Action) -> Result<Person> {
    let person = load(tx, id).await?;
    move_person(tx, ctx, &person.clone(), person, action).await
}

/// Contact → user: needs a role other than contact and an e-mail nobody else has.
pub async fn convert_to_user(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    id: &str,
    role_name: &str,
    email: Option<&str>,
    user_type: Option<UserType>,
    target: UserTarget,
) -> Result<Person> {
    let mut person = load(tx, id).await?;
    let before = person.clone();
    let role = role(tx, role_name).await?;
    if let Some(e) = email {
        let e = check_email(e)?;
        set_primary_email(&mut person.data, &e);
    }
    let Some(email) = person.email() else {
        return Err(Error::refused(Refusal::EmailRequired, "a user needs an e-mail address: give one"));
    };
    if tx.email_taken(&email, &person.id).await? {
        return Err(Error::refused(Refusal::EmailTaken, format!("another person already has the e-mail {email}")));
    }
    person.permissions = role.keep_grantable(&person.permissions);
    person.role = role.name.clone();
    if let Some(t) = user_type {
        person.user_type = t;
    }
    move_person(tx, ctx, &before, person, Action::ConvertToUser(target)).await
}

/// Changes the company role set by hand; extras the new role does not allow are dropped.
pub async fn change_role(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, role_name: &str) -> Result<Person> {
    let mut person = load(tx, id).await?;
    if person.state == State::Deleted {
        return Err(Error::refused(
            Refusal::IllegalTransition,
            "restore an archived person before changing their role",
        ));
    }
    let role = role(tx, role_name).await?;
    let before = person.clone();
    person.role = role.name.clone();
    person.permissions = role.keep_grantable(&person.permissions);
    if person == before {
        return Ok(person);
    }
    last_admin_check(tx, &before, &person).await?;
    person.sync_doc_all();
    let saved = tx.save_person(&person, ctx.now).await?;
    audit(tx, ctx, "person.change_role", Some(&before), Some(&saved)).await?;
    if saved.effective_role() != before.effective_role() {
        notify(tx, ctx, &saved, &Notice::RoleChanged { role: saved.effective_role().to_owned() }).await?;
    }
    Ok(saved)
}

/// Sets the extra company permissions (each must be grantable under the role in force).
pub async fn change_permissions(tx: &mut dyn PeopleTx, ctx: &Ctx, id: &str, permissions: &[String]) -> Result<Person> {
    let mut person = load(tx, id).await?;
    let role = role(tx, person.effective_role()).await?;
    role.check_grants(permissions)?;
    let before = person.clone();
    let mut wanted: Vec<String> = permissions.to_vec();
    wanted.sort();
    wanted.dedup();
    person.permissions = wanted;
    if person == before {
        return Ok(person);
    }
    let saved = tx.save_person(&person, ctx.now).await?;
    audit(tx, ctx, "person.change_permissions", Some(&before), Some(&saved)).await?;
    notify(tx, ctx, &saved, &Notice::PermissionsChanged { permissions: saved.permissions.clone() }).await?;
    Ok(saved)
}

/// Changes the user type and the partner flag (which decide the seat).
pub async fn change_profile(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    id: &str,
    user_type: Option<UserType>,
    partner: Option<bool>,
) -> Result<Person> {
    let mut person = load(tx, id).await?;
    let settings = tx.settings().await?;
    let before = person.clone();
    if let Some(t) = user_type {
        person.user_type = t;
    }
    if let Some(p) = partner {
        person.partner = p;
    }
    seat_check(tx, &settings, before.takes_seat(), person.takes_seat()).await?;
    person.sync_doc_all();
    let saved = tx.save_person(&person, ctx.now).await?;
    audit(tx, ctx, "person.change_profile", Some(&before), Some(&saved)).await?;
    Ok(saved)
}

fn link_error(link: Option<&LinkRecord>, purpose: LinkPurpose, now: OffsetDateTime) -> Option<Error> {
    match link {
        None => Some(Error::refused(Refusal::LinkInvalid, "this link is not valid")),
        Some(l) if l.purpose != purpose => Some(Error::refused(Refusal::LinkInvalid, "this link is not valid")),
        Some(l) if l.used_at.is_some() => {
            Some(Error::refused(Refusal::LinkInvalid, "this link was already used or replaced by a newer one"))
        }
        Some(l) if l.expires_at <= now => {
            Some(Error::refused(Refusal::LinkExpired, "this link has expired: ask for a new one"))
        }
        Some(_) => None,
    }
}

/// The person a valid link of this purpose belongs to (for showing a sign-up page), and the
/// key the link is stored under.
pub async fn check_link(
    tx: &mut dyn PeopleTx,
    token: &str,
    purpose: LinkPurpose,
    now: OffsetDateTime,
) -> Result<(Person, String)> {
    let link = tx.link(&secret::link_keys(token)).await?;
    if let Some(e) = link_error(link.as_ref(), purpose, now) {
        return Err(e);
    }
    let link = link.expect("checked");
    let person = load(tx, &link.person).await?;
    Ok((person, link.key))
}

/// The sign-up link: sets the password and makes the invited person active.
pub async fn accept(tx: &mut dyn PeopleTx, ctx: &Ctx, token: &str, password: &str) -> Result<Person> {
    let (person, key) = check_link(tx, token, LinkPurpose::SignUp, ctx.now).await?;
    if person.state != State::Invited {
        return Err(Error::refused(Refusal::LinkInvalid, "this link is not valid"));
    }
    let hash = secret::hash_password(password)?;
    tx.use_link(&key, ctx.now).await?;
    let ctx = Ctx { actor: Actor::person(&person.id), ..ctx.clone() };
    let saved = move_person(tx, &ctx, &person.clone(), person, Action::Accept).await?;
    tx.set_password(&saved.id, &hash).await?;
    Ok(saved)
}

/// Queues a password-reset link for an active person.
pub async fn request_reset(tx: &mut dyn PeopleTx, ctx: &Ctx, person: &Person) -> Result<()> {
    if person.state != State::Active {
        return Err(Error::refused(
            Refusal::SignInRefused,
            format!("a person who is {} cannot reset a password", person.state),
        ));
    }
    let settings = tx.settings().await?;
    let (link, expires_at) = issue_link(tx, ctx, &settings, &person.id, LinkPurpose::PasswordReset).await?;
    notify(tx, ctx, person, &Notice::PasswordReset { link, expires_at }).await?;
    audit(tx, ctx, "person.request_password_reset", Some(person), Some(person)).await
}

pub async fn reset_password(tx: &mut dyn PeopleTx, ctx: &Ctx, token: &str, password: &str) -> Result<Person> {
    let (person, key) = check_link(tx, token, LinkPurpose::PasswordReset, ctx.now).await?;
    if person.state != State::Active {
        return Err(Error::refused(Refusal::LinkInvalid, "this link is not valid"));
    }
    let hash = secret::hash_password(password)?;
    tx.use_link(&key, ctx.now).await?;
    tx.set_password(&person.id, &hash).await?;
    let ctx = Ctx { actor: Actor::person(&person.id), ..ctx.clone() };
    audit(tx, &ctx, "person.reset_password", Some(&person), Some(&person)).await?;
    Ok(person)
}

/// Whether this person may sign in with this password; the refusal says why not.
pub async fn login(tx: &mut dyn PeopleTx, user_name: &str, password: &str, now: OffsetDateTime) -> Result<Person> {
    let wrong = || Error::refused(Refusal::SignInRefused, "wrong user name or password");
    let person = tx.find_by_user_name(user_name).await?.ok_or_else(wrong)?;
    let refuse = |why: &str| Err(Error::refused(Refusal::SignInRefused, why.to_owned()));
    match person.state {
        State::Deleted => return refuse("this account was deleted"),
        State::Contact => return refuse("contacts cannot sign in"),
        State::Invited => {
            let expired = person.invitation.expires_at.is_some_and(|e| e <= now);
            return refuse(if expired {
                "the invitation expired before it was accepted: ask for a new one"
            } else {
                "the invitation has not been accepted yet: use the sign-up link"
            });
        }
        State::Active => {}
    }
    match &person.password_hash {
        Some(h) if secret::verify_password(h, password) => Ok(person),
        // SSO-only people (made active by SCIM) have no password here.
        None => refuse("this account signs in through the identity provider"),
        Some(_) => Err(wrong()),
    }
}

/// Saves changes that are not a move (profile, role, document), with the rules they touch.
pub async fn save_changes(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    before: &Person,
    mut person: Person,
    action: &str,
) -> Result<Person> {
    let settings = tx.settings().await?;
    last_admin_check(tx, before, &person).await?;
    seat_check(tx, &settings, before.takes_seat(), person.takes_seat()).await?;
    person.sync_doc();
    let saved = tx.save_person(&person, ctx.now).await?;
    audit(tx, ctx, action, Some(before), Some(&saved)).await?;
    Ok(saved)
}

/// An audit entry for something that is not a person's move (roles, projects, settings).
pub async fn audit_raw(
    tx: &mut dyn PeopleTx,
    ctx: &Ctx,
    action: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    let person =
        after.as_ref().or(before.as_ref()).and_then(|v| v.get("person")).and_then(Value::as_str).map(str::to_owned);
    tx.audit(&AuditEntry::new(ctx.now, &ctx.actor, action, person.as_deref(), before, after)).await
}
