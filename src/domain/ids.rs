//! Identifiers as types: a session id, a region name, a participant id, a tenant and a
//! token subject are different things, so functions that take them cannot be handed
//! the wrong one. Each is a string on every wire (JSON, MessagePack:
//! `#[serde(transparent)]`) and reads as a `&str` where only its text matters.
//!
//! Must not: validate formats (the fronts check what clients send; `uuid` has the rules).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                $name(s.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                $name(s.to_owned())
            }
        }

        impl From<&String> for $name {
            fn from(s: &String) -> Self {
                $name(s.clone())
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, o: &str) -> bool {
                self.0 == o
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, o: &&str) -> bool {
                self.0 == *o
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, o: &String) -> bool {
                &self.0 == o
            }
        }

        impl PartialEq<$name> for str {
            fn eq(&self, o: &$name) -> bool {
                self == o.0
            }
        }

        impl PartialEq<$name> for String {
            fn eq(&self, o: &$name) -> bool {
                *self == o.0
            }
        }

        impl PartialEq<$name> for &str {
            fn eq(&self, o: &$name) -> bool {
                *self == o.0
            }
        }
    };
}

id_type!(
    /// A session's id (a client-chosen UUID).
    SessionId
);
id_type!(
    /// A region's name (`iad`, `lhr`, …; `local` when single-node).
    RegionId
);
id_type!(
    /// A participant's id within a session (a UUID).
    ParticipantId
);
id_type!(
    /// A tenant: the customer a service token, and the sessions it creates, belong to.
    TenantId
);
id_type!(
    /// Who a token was issued to (its `sub` claim), as recorded in the audit trail.
    Subject
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_strings_on_the_wire_and_compare_with_text() {
        let id = SessionId::new("6f1c0000-0000-4000-8000-000000000001");
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            "\"6f1c0000-0000-4000-8000-000000000001\""
        );
        assert_eq!(
            rmp_serde::to_vec(&id).unwrap(),
            rmp_serde::to_vec(id.as_str()).unwrap()
        );
        assert_eq!(id, "6f1c0000-0000-4000-8000-000000000001");
        let r: RegionId = "iad".into();
        assert_eq!(format!("{r}"), "iad");
        assert_eq!(&*r, "iad");
    }
}
