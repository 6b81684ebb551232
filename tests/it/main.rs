//! The integration tests: one test binary (a test binary per file cost a
//! link of the whole crate each). Every test speaks to the gateway over HTTP,
//! in process or as the real `polyauth` binary; `support` holds every shared
//! helper, once. Tests named `memory::…`, `redis::…` and `cluster::…` run on
//! each store (`both_stores!`); the Redis ones start a private `redis-server`,
//! the Cluster ones share one local Redis Cluster, each under its own key prefix.

#[macro_use]
mod support;

mod abuse;
mod browser;
mod cluster;
mod contract;
mod cors;
mod cross_dialect;
mod deploy;
mod django_hashes;
mod djoser;
mod drf_wire;
mod food2gether;
mod foundation;
mod hardening;
mod invariants;
mod jwt_email;
mod logs;
mod mail;
mod metrics;
mod migrate;
mod monta;
mod openapi;
mod options;
mod probes;
mod settings;
mod shutdown;
mod simplejwt;
mod store_conformance;
mod store_outage;
mod tls;
mod users;

/// Each `tests/*.rs` file would be a test binary of its own, linked on its own:
/// integration tests are modules of this one.
#[test]
fn tests_are_modules_of_one_binary() {
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let strays: Vec<_> = std::fs::read_dir(&tests)
        .expect("tests/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs") || (p.join("main.rs").is_file() && !p.ends_with("it")))
        .collect();
    assert!(strays.is_empty(), "move these into tests/it/ as modules: {strays:?}");
}
