//! Abuse protection over HTTP: the login lockout in every dialect and across
//! replicas, the bounded hash queue under a flood, DRF throttling, the client
//! address behind trusted proxies, and the operators' users API.

mod admin;
mod flood;
mod lockout;
mod proxies;
mod throttle;
