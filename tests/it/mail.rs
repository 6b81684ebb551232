//! Real mail delivery: the gateway talks SMTP to a real server the harness
//! runs on a free port (`support::smtp`). `delivery`: what arrives (Djoser's
//! reset mail completes a reset; TLS and AUTH; per-mount wording). `durability`:
//! retries while the server is down or answers 4xx, no retry after a 5xx, a
//! restart of the real binary with a mail pending on Redis, two replicas on
//! one Redis, shutdown on the memory store.

mod delivery;
mod durability;
