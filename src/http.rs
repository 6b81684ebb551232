//! The HTTP side: request bodies, authentication, input validation, the
//! request pipeline and the renderer. It speaks to the engine only through
//! actions, and to dialects only through their compiled tables.

pub mod accept;
pub mod auth;
pub mod body;
pub mod client_addr;
pub mod cors;
pub mod handle;
pub mod hosts;
pub mod inputs;
pub mod metadata;
pub mod render;
pub mod throttle;
