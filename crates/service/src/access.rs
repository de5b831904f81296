//! What a caller may reach, decided here once for every use case: a caller whose key
//! belongs to a user ([`Caller::owner`]) sees and changes only that user's links, their
//! events and stats, and that user; anyone else's answer exactly as a missing one, so
//! ids reveal nothing. A caller without an owner acts across users, at its key's scope.

use super::{Resource, ServiceError};
use shortener_domain::{Caller, Link, Scope};

/// `link` when the caller may reach it, else the same 404 as no link at all.
pub(crate) fn reachable_link(caller: &Caller, link: Option<Link>) -> Result<Link, ServiceError> {
    link.filter(|link| may_reach(caller, link.user_id))
        .ok_or(ServiceError::NotFound(Resource::Link))
}

/// Whether the caller may reach what belongs to `owner` (a link's user, or a user).
fn may_reach(caller: &Caller, owner: Option<i64>) -> bool {
    caller.owner().is_none_or(|own| owner == Some(own))
}

/// Which users the caller may see: every one for an admin (or an open API), its own for
/// an owner key; any other key sees none, since users hold e-mail addresses.
pub(crate) enum UsersInView {
    All,
    Only(i64),
}

/// [`UsersInView`] for `caller`; a key that may see none is refused as lacking `admin`.
pub(crate) fn users_in_view(caller: &Caller) -> Result<UsersInView, ServiceError> {
    match caller.owner() {
        Some(own) => Ok(UsersInView::Only(own)),
        None if caller.grants(Scope::Admin) => Ok(UsersInView::All),
        None => Err(ServiceError::NeedsScope(Scope::Admin)),
    }
}

/// The owner of something the caller creates: the caller's own user for an owner key
/// (naming anyone else is refused), else whoever the request names.
pub(crate) fn owner_of_new(
    caller: &Caller,
    requested: Option<i64>,
) -> Result<Option<i64>, ServiceError> {
    match (caller.owner(), requested) {
        (None, requested) => Ok(requested),
        (Some(own), None) => Ok(Some(own)),
        (Some(own), Some(named)) if named == own => Ok(Some(own)),
        (Some(_), Some(_)) => Err(ServiceError::NotPermitted {
            field: "user_id",
            message: "this API key acts only as its own user",
        }),
    }
}

/// The user filter of a list the caller asks for: its own user for an owner key, and
/// `None` (nothing to list) when it asks for someone else's.
pub(crate) fn user_filter(caller: &Caller, requested: Option<i64>) -> Option<Option<i64>> {
    match (caller.owner(), requested) {
        (None, requested) => Some(requested),
        (Some(own), None) => Some(Some(own)),
        (Some(own), Some(named)) => (named == own).then_some(Some(own)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: i64) -> Caller {
        Caller::with_key("k".into(), Scope::Write, Some(id))
    }

    #[test]
    fn an_owner_reaches_only_its_own() {
        assert!(may_reach(&owner(1), Some(1)));
        assert!(!may_reach(&owner(1), Some(2)));
        assert!(
            !may_reach(&owner(1), None),
            "an unowned link is not an owner's"
        );
        assert!(may_reach(&Caller::anonymous(), Some(2)));
        assert!(may_reach(&Caller::anonymous(), None));
    }

    #[test]
    fn an_owner_creates_as_itself_only() {
        assert_eq!(owner_of_new(&owner(1), None).unwrap(), Some(1));
        assert_eq!(owner_of_new(&owner(1), Some(1)).unwrap(), Some(1));
        assert!(matches!(
            owner_of_new(&owner(1), Some(2)),
            Err(ServiceError::NotPermitted {
                field: "user_id",
                ..
            })
        ));
        assert_eq!(
            owner_of_new(&Caller::anonymous(), Some(2)).unwrap(),
            Some(2)
        );
    }

    #[test]
    fn users_are_seen_by_admins_and_by_themselves() {
        assert!(matches!(users_in_view(&owner(1)), Ok(UsersInView::Only(1))));
        assert!(matches!(
            users_in_view(&Caller::anonymous()),
            Ok(UsersInView::All)
        ));
        let reader = Caller::with_key("r".into(), Scope::Read, None);
        assert!(matches!(
            users_in_view(&reader),
            Err(ServiceError::NeedsScope(Scope::Admin))
        ));
        let admin = Caller::with_key("a".into(), Scope::Admin, None);
        assert!(matches!(users_in_view(&admin), Ok(UsersInView::All)));
    }

    #[test]
    fn an_owners_lists_are_its_own() {
        assert_eq!(user_filter(&owner(1), None), Some(Some(1)));
        assert_eq!(user_filter(&owner(1), Some(1)), Some(Some(1)));
        assert_eq!(user_filter(&owner(1), Some(2)), None);
        assert_eq!(user_filter(&Caller::anonymous(), None), Some(None));
    }
}
