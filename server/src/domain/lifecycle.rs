//! The life of a person, on one screen: four states, the actions that move a person between
//! them, and the derived "not accepted" status of an invitation. Rules that need data
//! (seats, the last admin, e-mail uniqueness) are checked by the use cases in
//! [`people_ops`](super::people_ops) inside the transaction; this module says only which
//! moves exist.
//!
//! | from → to                      | action                          |
//! |--------------------------------|---------------------------------|
//! | new → invited                  | `Invite`                        |
//! | new → active                   | `Provision` (SSO-only tenants)  |
//! | new → contact                  | `CreateContact`                 |
//! | invited → active               | `Accept` (sign-up link)         |
//! | invited → invited              | `Resend` (new link, old dead)   |
//! | invited → deleted              | `CancelInvitation`              |
//! | contact → invited / active     | `ConvertToUser(target)`         |
//! | active, invited → contact      | `ConvertToContact`              |
//! | invited, active, contact → deleted | `Delete` (archive)          |
//! | deleted → invited              | `Restore` (new link)            |
//! | deleted → active / contact     | `Provision` / `CreateContact`: a SCIM POST of an archived person's userName or externalId, by policy |

use std::fmt;

use time::OffsetDateTime;

/// Where a person is in their life with the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    Invited,
    Active,
    Contact,
    /// Archived: hidden (404 over SCIM), restorable.
    Deleted,
}

impl State {
    pub const ALL: [State; 4] = [State::Invited, State::Active, State::Contact, State::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Contact => "contact",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// SCIM's `active`: true for people who are (or will be) able to sign in.
    pub fn scim_active(self) -> bool {
        matches!(self, Self::Invited | Self::Active)
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a contact goes when made a user again (a tenant policy decides for SCIM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserTarget {
    Invited,
    Active,
}

impl UserTarget {
    pub fn state(self) -> State {
        match self {
            Self::Invited => State::Invited,
            Self::Active => State::Active,
        }
    }
}

/// Everything that can happen to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Invite,
    Provision,
    CreateContact,
    Accept,
    Resend,
    CancelInvitation,
    ConvertToUser(UserTarget),
    ConvertToContact,
    Delete,
    Restore,
}

impl Action {
    /// The name written to the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invite => "person.invite",
            Self::Provision => "person.provision",
            Self::CreateContact => "person.create_contact",
            Self::Accept => "person.accept",
            Self::Resend => "person.resend_invitation",
            Self::CancelInvitation => "person.cancel_invitation",
            Self::ConvertToUser(_) => "person.convert_to_user",
            Self::ConvertToContact => "person.convert_to_contact",
            Self::Delete => "person.delete",
            Self::Restore => "person.restore",
        }
    }
}

/// A move the state machine does not allow, as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a person who is {}", verb(*.action), from.map_or("not yet created", State::as_str))]
pub struct IllegalTransition {
    pub from: Option<State>,
    pub action: Action,
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Invite | Action::Provision | Action::CreateContact => "create",
        Action::Accept => "accept the invitation of",
        Action::Resend => "resend the invitation of",
        Action::CancelInvitation => "cancel the invitation of",
        Action::ConvertToUser(_) => "convert to a user",
        Action::ConvertToContact => "convert to a contact",
        Action::Delete => "delete",
        Action::Restore => "restore",
    }
}

/// The state after `action` on a person in `from` (`None`: not created yet).
pub fn transition(from: Option<State>, action: Action) -> Result<State, IllegalTransition> {
    use State::*;
    let to = match (from, action) {
        (None, Action::Invite) => Invited,
        (None, Action::Provision) => Active,
        (None, Action::CreateContact) => Contact,
        (Some(Invited), Action::Accept) => Active,
        (Some(Invited), Action::Resend) => Invited,
        (Some(Invited), Action::CancelInvitation) => Deleted,
        (Some(Contact), Action::ConvertToUser(target)) => target.state(),
        (Some(Active | Invited), Action::ConvertToContact) => Contact,
        (Some(Invited | Active | Contact), Action::Delete) => Deleted,
        (Some(Deleted), Action::Restore) => Invited,
        (Some(Deleted), Action::Provision) => Active,
        (Some(Deleted), Action::CreateContact) => Contact,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

/// An invitation's sign-up link as the person record knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invitation {
    /// When the current link was sent; `None` for "added without sending".
    pub sent_at: Option<OffsetDateTime>,
    /// When the current link stops working; `None` while unsent.
    pub expires_at: Option<OffsetDateTime>,
}

/// What the admin sees next to an invited person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationStatus {
    /// Added without sending: no link exists yet.
    Unsent,
    /// A link is out and still valid.
    Pending,
    /// The link expired before it was used ("Not accepted" in the seeds).
    NotAccepted,
    /// The person signed up.
    Accepted,
}

impl InvitationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsent => "unsent",
            Self::Pending => "pending",
            Self::NotAccepted => "not_accepted",
            Self::Accepted => "accepted",
        }
    }
}

/// The invitation status of a person in `state`, derived at `now`; `None` for people who
/// were never invited (contacts, archived people).
pub fn invitation_status(
    state: State,
    invitation: Option<Invitation>,
    now: OffsetDateTime,
) -> Option<InvitationStatus> {
    match state {
        State::Invited => Some(match invitation.and_then(|i| i.expires_at) {
            None => InvitationStatus::Unsent,
            Some(expires) if expires <= now => InvitationStatus::NotAccepted,
            Some(_) => InvitationStatus::Pending,
        }),
        State::Active => invitation.and_then(|i| i.sent_at).map(|_| InvitationStatus::Accepted),
        State::Contact | State::Deleted => None,
    }
}

/// What a person is to the company (SCIM `userType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserType {
    Employee,
    Contractor,
    Client,
}

impl UserType {
    pub const ALL: [UserType; 3] = [UserType::Employee, UserType::Contractor, UserType::Client];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Employee => "Employee",
            Self::Contractor => "Contractor",
            Self::Client => "Client",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// Whether a person takes a paid seat: employees and contractors who are invited or active,
/// unless they are partners. Clients, contacts and archived people never do.
pub fn takes_seat(state: State, user_type: UserType, partner: bool) -> bool {
    state.scim_active() && user_type != UserType::Client && !partner
}

/// What the lifecycle says of a User beside its document: what the mirrored SCIM attributes
/// (`active`, `userType`, the primary `roles` value, the extension's `partner`) answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub state: State,
    pub user_type: UserType,
    pub partner: bool,
    /// The company role in force (a group binding's, else the one set by hand).
    pub role: String,
}

impl Standing {
    /// Reads the text the stores select for it: `<state> <userType> <partner 0|1> <role set
    /// by hand> [<role by group>]` (role names hold no spaces).
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split(' ');
        let state = State::parse(parts.next()?)?;
        let user_type = UserType::parse(parts.next()?)?;
        let partner = parts.next()? != "0";
        let by_hand = parts.next()?;
        let role = parts.next().filter(|r| !r.is_empty()).unwrap_or(by_hand).to_owned();
        Some(Self { state, user_type, partner, role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn a_standing_reads_as_the_stores_select_it() {
        let by_hand = Standing::parse("invited Contractor 1 member ").expect("parses");
        assert_eq!(
            by_hand,
            Standing { state: State::Invited, user_type: UserType::Contractor, partner: true, role: "member".into() }
        );
        let by_group = Standing::parse("contact Employee 0 member admin").expect("parses");
        assert_eq!((by_group.state, by_group.partner, by_group.role.as_str()), (State::Contact, false, "admin"));
        for bad in ["", "active", "gone Employee 0 member ", "active Robot 0 member "] {
            assert_eq!(Standing::parse(bad), None, "{bad:?}");
        }
    }

    const ACTIONS: [Action; 11] = [
        Action::Invite,
        Action::Provision,
        Action::CreateContact,
        Action::Accept,
        Action::Resend,
        Action::CancelInvitation,
        Action::ConvertToUser(UserTarget::Invited),
        Action::ConvertToUser(UserTarget::Active),
        Action::ConvertToContact,
        Action::Delete,
        Action::Restore,
    ];

    /// Every legal move, and nothing else: the whole table, checked against every
    /// (state, action) pair so an accidental new arm fails here.
    #[test]
    fn exactly_the_documented_transitions_are_legal() {
        use State::*;
        let legal: &[(Option<State>, Action, State)] = &[
            (None, Action::Invite, Invited),
            (None, Action::Provision, Active),
            (None, Action::CreateContact, Contact),
            (Some(Invited), Action::Accept, Active),
            (Some(Invited), Action::Resend, Invited),
            (Some(Invited), Action::CancelInvitation, Deleted),
            (Some(Contact), Action::ConvertToUser(UserTarget::Invited), Invited),
            (Some(Contact), Action::ConvertToUser(UserTarget::Active), Active),
            (Some(Active), Action::ConvertToContact, Contact),
            (Some(Invited), Action::ConvertToContact, Contact),
            (Some(Invited), Action::Delete, Deleted),
            (Some(Active), Action::Delete, Deleted),
            (Some(Contact), Action::Delete, Deleted),
            (Some(Deleted), Action::Restore, Invited),
            (Some(Deleted), Action::Provision, Active),
            (Some(Deleted), Action::CreateContact, Contact),
        ];
        let froms = [None, Some(Invited), Some(Active), Some(Contact), Some(Deleted)];
        let mut checked = 0;
        for from in froms {
            for action in ACTIONS {
                let expected = legal.iter().find(|(f, a, _)| *f == from && *a == action).map(|(_, _, to)| *to);
                match (transition(from, action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} {action:?}"),
                    (Err(e), None) => {
                        assert_eq!(e, IllegalTransition { from, action });
                        assert!(!e.to_string().is_empty());
                    }
                    (got, want) => panic!("{from:?} {action:?}: got {got:?}, expected {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 55);
    }

    #[test]
    fn illegal_transitions_explain_themselves() {
        let e = transition(Some(State::Active), Action::Accept).unwrap_err();
        assert_eq!(e.to_string(), "cannot accept the invitation of a person who is active");
        let e = transition(Some(State::Deleted), Action::Delete).unwrap_err();
        assert_eq!(e.to_string(), "cannot delete a person who is deleted");
    }

    #[test]
    fn not_accepted_is_derived_from_the_clock() {
        let sent = OffsetDateTime::UNIX_EPOCH;
        let inv = Invitation { sent_at: Some(sent), expires_at: Some(sent + Duration::hours(24)) };
        let at = |h: i64| invitation_status(State::Invited, Some(inv), sent + Duration::hours(h));
        assert_eq!(at(0), Some(InvitationStatus::Pending));
        assert_eq!(at(23), Some(InvitationStatus::Pending));
        assert_eq!(at(24), Some(InvitationStatus::NotAccepted));
        let unsent = Invitation { sent_at: None, expires_at: None };
        assert_eq!(invitation_status(State::Invited, Some(unsent), sent), Some(InvitationStatus::Unsent));
        assert_eq!(invitation_status(State::Active, Some(inv), sent), Some(InvitationStatus::Accepted));
        assert_eq!(invitation_status(State::Contact, Some(inv), sent), None);
    }

    #[test]
    fn seats_follow_state_type_and_partner() {
        for state in State::ALL {
            for ty in UserType::ALL {
                for partner in [false, true] {
                    let expected = matches!(state, State::Invited | State::Active)
                        && matches!(ty, UserType::Employee | UserType::Contractor)
                        && !partner;
                    assert_eq!(takes_seat(state, ty, partner), expected, "{state:?} {ty:?} {partner}");
                }
            }
        }
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        for t in UserType::ALL {
            assert_eq!(UserType::parse(&t.as_str().to_uppercase()), Some(t));
        }
        assert_eq!(UserType::parse("Intern"), None);
    }
}
