//! The abuses of issue 12, each now bounded and answered with a documented error while
//! the server keeps serving a bystander (its switch latency and the process RSS before
//! and after are printed): mass creates, oversized sessions, unattended `skip` loops,
//! slow bodies, connection floods, frame floods and unmasked frames.

mod connections;
mod frames;
mod quotas;
