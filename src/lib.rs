//! polyauth: one server speaking several legacy authentication-API dialects
//! over one credential and session engine.
//!
//! Components, from the wire inwards:
//! - `server`: hyper listeners (TCP or reloadable TLS), keep-alive, header
//!   timeout, graceful drain, signals.
//! - `http`: the request pipeline (`handle`), bodies, authenticators, input
//!   validation, CORS (`cors`), and `render`, the one place that picks status
//!   codes.
//! - `dialect`: dialect files (`dialects/*.toml`) loaded, validated, compiled
//!   into route tables.
//! - `actions`: the operations a route may name, one type per file.
//! - `failure`: `ErrorKey` (every error key, with its default status) and
//!   `Failure`; `template`: placeholders, rendering, and every variable name.
//! - `engine`: users, passwords (bcrypt off the reactor), opaque tokens, JWTs,
//!   one-time tokens, the mail outbox. Knows nothing of HTTP.
//! - `store`: the `Store` trait with `memory` and `redis` implementations.
//! - `mail`: the SMTP sender that delivers the engine's queued mails (lettre).
//! - `contract`: replays `fixtures/<dialect>/` scenarios against any server
//!   (`polyauth contract`); `openapi`: a dialect's OpenAPI 3.1 document.
//! - `config`, `app` (load → bind → run), `cli`.
//! - `admin` (probes, metrics, outbox and the users API on their own
//!   listener), `health` (readiness), `metrics` (one registry handle passed
//!   explicitly), `audit` (security events as structured log lines),
//!   `deadline` (deadlines of many short operations, kept by one ticker).

pub mod actions;
pub mod admin;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod contract;
pub mod deadline;
pub mod dialect;
pub mod engine;
pub mod failure;
pub mod health;
pub mod http;
pub mod mail;
pub mod metrics;
pub mod openapi;
pub mod secret;
pub mod server;
pub mod store;
pub mod template;

/// rustls needs one process-wide crypto provider (ring); installing twice is harmless.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
