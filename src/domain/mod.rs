//! The pure timer core: the session model, every transition and its preconditions,
//! deadlines and the time math ("calculate, don't count").
//!
//! Owns: what a session *is* and how it changes. It must not do IO, read the clock,
//! log, or know about HTTP, WebSocket, Redis or regions beyond carrying the
//! `home_region` name. Every function that depends on time takes `now` (epoch ms).

pub mod access;
pub mod actor;
mod budget;
pub mod create;
pub mod deadline;
pub mod error;
pub mod event;
pub mod ids;
pub mod iso;
pub mod lag;
pub mod lifetime;
pub mod model;
pub mod ownership;
pub mod quota;
#[cfg(test)]
pub(crate) mod sample;
mod settle;
pub mod transition;
pub mod uuid;

pub use actor::{Access, Actor, Denied, PausePolicy, Role};
pub use create::{create_session, NewParticipant, NewSession};
pub use deadline::{next_deadline, remaining_at};
pub use error::{DomainError, FieldIssue};
pub use event::Event;
pub use ids::{ParticipantId, RegionId, SessionId, Subject, TenantId};
pub use lag::Transit;
pub use model::{LagPolicy, Millis, Participant, Session, Stamp, Status, SyncMode, TimeoutAction};
pub use ownership::{move_home, Move};
pub use transition::{perform, perform_with, tick, Op, Outcome};
