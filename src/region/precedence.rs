//! Which of two states of one session id a region keeps: the rule every region applies
//! the same way, so copies converge and never swap.
//!
//! - Same incarnation (equal `created_at`), whatever the homes: the higher ownership
//!   epoch wins, then the higher version (a re-home or a takeover moved the home and
//!   raised the epoch: every region routes by the highest epoch it has seen).
//! - Same home: the newer state wins (a later incarnation, then a higher epoch and
//!   version).
//! - Different homes and incarnations (the same id was created in two regions that
//!   could not see each other): the incarnation created first wins, ties broken by
//!   home region name. The other one is discarded everywhere, including in its own
//!   home; creates stay available during a partition at this (documented) price.
//! - A deletion removes a copy only when it comes from that copy's home.
//! - After a home's log went back (restored from an older copy), versions repeat with
//!   other contents: the home's current state then wins over any copy of its own
//!   sessions, newer-looking or not (`Authority::Home`, only while the follower has
//!   stopped applying that home's log).
//!
//! Ranks are `Session::stamp` (incarnation, ownership epoch, version); index entries
//! carry the same rank (`store::index::Entry`).
//!
//! Pure: no IO.

use crate::domain::{RegionId, Session};
use crate::store::index::Entry;

/// How a copy is compared with what its home sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authority {
    /// The newer state wins (the relay, periodic checks, peer lookups).
    Newer,
    /// The home's current state wins over copies of its sessions (a catch-up from a
    /// snapshot of the home, while its log is not being applied).
    Home,
}

/// Whether `incoming` should replace `local` (absent = no local copy).
pub fn replaces(incoming: &Session, local: Option<&Session>) -> bool {
    let Some(local) = local else { return true };
    let same_incarnation =
        incoming.created_at == local.created_at && incoming.stamp() != local.stamp();
    if incoming.home_region == local.home_region || same_incarnation {
        return incoming.stamp() > local.stamp();
    }
    (incoming.created_at, incoming.home_region.as_str())
        < (local.created_at, local.home_region.as_str())
}

/// Whether `incoming` (the current state at its home) should replace `local`. A home's
/// authority covers only the sessions it owns: a state it holds of a session homed
/// elsewhere now (re-homed, taken over) is judged like any copy.
pub fn replaces_with(incoming: &Session, local: Option<&Session>, authority: Authority) -> bool {
    match (authority, local) {
        (Authority::Home, Some(l))
            if l.home_region == incoming.home_region && l.epoch == incoming.epoch =>
        {
            l != incoming
        }
        _ => replaces(incoming, local),
    }
}

/// Whether a copy whose index entry is `local` (absent: none here) lags the home's
/// entry `home`, so the home's state should be fetched.
pub fn copy_behind(home: &Entry, local: Option<&Entry>, authority: Authority) -> bool {
    match (authority, local) {
        (_, None) => true,
        (Authority::Newer, Some(l)) => l.stamp() < home.stamp(),
        (Authority::Home, Some(l)) => l != home,
    }
}

/// Whether a deletion committed by `home` removes `local`.
pub fn deletion_applies(home: &RegionId, local: &Session) -> bool {
    local.home_region == *home
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(home: &str, created_at: i64, version: u64) -> Session {
        let mut s = crate::domain::sample::session(crate::domain::sample::ID, home, created_at);
        s.version = version;
        s
    }

    #[test]
    fn same_home_newer_wins() {
        assert!(replaces(&s("iad", 10, 3), Some(&s("iad", 10, 2))));
        assert!(!replaces(&s("iad", 10, 2), Some(&s("iad", 10, 3))));
        assert!(!replaces(&s("iad", 10, 3), Some(&s("iad", 10, 3))));
        assert!(replaces(&s("iad", 20, 1), Some(&s("iad", 10, 9))));
        assert!(replaces(&s("iad", 10, 1), None));
    }

    #[test]
    fn different_homes_first_created_wins_in_both_directions() {
        let (a, b) = (s("iad", 10, 1), s("lhr", 12, 5));
        assert!(replaces(&a, Some(&b)));
        assert!(!replaces(&b, Some(&a)));
        let (c, d) = (s("iad", 10, 1), s("lhr", 10, 1));
        assert!(replaces(&c, Some(&d)) != replaces(&d, Some(&c)));
    }

    #[test]
    fn the_home_wins_over_its_own_copies_only_when_authoritative() {
        let (home, ahead) = (s("iad", 10, 3), s("iad", 10, 5));
        assert!(!replaces_with(&home, Some(&ahead), Authority::Newer));
        assert!(replaces_with(&home, Some(&ahead), Authority::Home));
        assert!(!replaces_with(&home, Some(&home.clone()), Authority::Home));
        // Another home's incarnation of the id still follows the first-created rule.
        let other = s("lhr", 5, 1);
        assert!(!replaces_with(&home, Some(&other), Authority::Home));
        let e = |version, content| Entry {
            version,
            created_at: 10,
            content,
            epoch: 0,
        };
        assert!(copy_behind(&e(3, 0), None, Authority::Newer));
        assert!(copy_behind(&e(3, 0), Some(&e(2, 0)), Authority::Newer));
        assert!(!copy_behind(&e(3, 0), Some(&e(5, 0)), Authority::Newer));
        assert!(!copy_behind(&e(3, 0), Some(&e(3, 1)), Authority::Newer));
        assert!(copy_behind(&e(3, 0), Some(&e(5, 0)), Authority::Home));
        assert!(copy_behind(&e(3, 0), Some(&e(3, 1)), Authority::Home));
        assert!(!copy_behind(&e(3, 0), Some(&e(3, 0)), Authority::Home));
    }

    #[test]
    fn a_higher_epoch_wins_across_homes_within_an_incarnation() {
        let old = s("iad", 10, 7);
        let mut moved = s("nrt", 10, 6);
        moved.epoch = 1;
        assert!(replaces(&moved, Some(&old)));
        assert!(!replaces(&old, Some(&moved)));
        let mut later = moved.clone();
        later.version = 9;
        assert!(replaces(&later, Some(&moved)));
        // The old home's authority does not reach a session homed elsewhere now.
        assert!(!replaces_with(&old, Some(&moved), Authority::Home));
        // Another incarnation of the id created elsewhere still loses to the first.
        let mut other = s("lhr", 12, 1);
        other.epoch = 4;
        assert!(!replaces(&other, Some(&moved)));
    }

    #[test]
    fn deletions_only_from_the_copys_home() {
        assert!(deletion_applies(&"iad".into(), &s("iad", 10, 1)));
        assert!(!deletion_applies(&"nrt".into(), &s("iad", 10, 1)));
    }
}
