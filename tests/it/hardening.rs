//! Integrity and hardening: no lost updates under concurrency, single use
//! that holds, no Host-header poisoning, slow clients bounded, protocol errors
//! in the dialect's format, unsafe config refused, per-user state bounded,
//! timing equalised, token responses not cached.

mod hosts;
mod identity;
mod limits;
mod lost_updates;
mod pausing_store;
mod protocol_errors;
mod secrets;
mod slow_clients;
mod token_headers;
