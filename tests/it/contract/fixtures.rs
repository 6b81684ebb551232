//! Every contract fixture directory (`fixtures/<dialect>/`) replayed against the
//! in-process gateway, on both stores. A fixture directory whose dialect file
//! cannot be found fails the test: nothing is skipped silently.

use std::path::{Path, PathBuf};

use crate::support::{gateway, StoreKind, ADMIN_TOKEN};
use polyauth::contract::{self, report, OutboxAccess, Target};
use polyauth::secret::Secret;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Seeded into every test gateway: accounts for dialects without registration.
pub fn seed_file() -> PathBuf {
    root().join("fixtures/contract-users.toml")
}

/// (dialect, scenario dir, dialects dir) for every fixture directory; the
/// dialect file is `fixtures/<d>/server/<d>.toml` or `dialects/<d>.toml`.
fn fixture_dirs() -> (Vec<(String, PathBuf, PathBuf)>, Vec<String>) {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures"))
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    entries.sort();
    for dir in entries {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with(['_', '.']) {
            continue;
        }
        let own = dir.join("server");
        if own.join(format!("{name}.toml")).is_file() {
            found.push((name, dir, own));
        } else if root().join("dialects").join(format!("{name}.toml")).is_file() {
            found.push((name, dir, root().join("dialects")));
        } else {
            missing.push(name);
        }
    }
    (found, missing)
}

pub async fn replay(kind: StoreKind, dialect: &str, scenarios: &Path, dialects: &Path) -> contract::Report {
    let g = gateway(kind)
        .dialects_dir(dialects.to_owned())
        .extra(&format!("[users]\nseed_file = {:?}", seed_file().display().to_string()))
        .mount(dialect, "/")
        .start()
        .await;
    let admin = g.running.admin_addr.expect("admin listener");
    let target = Target {
        base: format!("http://{}", g.addr(dialect)),
        outbox: Some(OutboxAccess::admin(&format!("http://{admin}"), Some(Secret::new(ADMIN_TOKEN)))),
        vars: Default::default(),
    };
    let loaded = contract::load_dir(scenarios).unwrap_or_else(|e| panic!("{e}"));
    let r = contract::run(&target, dialect, &loaded, |_| {}).await;
    g.running.shutdown().await;
    r
}

async fn every_fixture_passes(kind: StoreKind) {
    let (dirs, missing) = fixture_dirs();
    assert!(
        missing.is_empty(),
        "fixture directories without a dialect file (dialects/<name>.toml or fixtures/<name>/server/<name>.toml): {missing:?}"
    );
    assert!(dirs.len() >= 2, "expected at least simplejwt and acme fixtures, found {dirs:?}");
    let mut bad = String::new();
    for (dialect, scenarios, dialects) in &dirs {
        let r = replay(kind, dialect, scenarios, dialects).await;
        assert!(r.passed() > 0, "{dialect}: no step ran");
        if r.failed() + r.skipped() > 0 {
            bad.push_str(&report::text(&r));
        }
    }
    assert!(bad.is_empty(), "contract failures ({kind:?}):\n{bad}");
}

/// The example dialect served from its own config file (listeners moved to
/// free ports, the store chosen by the test), passing its own scenarios.
async fn acme_from_its_own_config(kind: StoreKind) {
    use polyauth::app;
    use polyauth::config::Config;

    let mut config = Config::load(&root().join("fixtures/acme/server/gateway.toml")).expect("acme config");
    let store = crate::support::TestStore::start(kind);
    if kind != StoreKind::Memory {
        config.store.url = Secret::new(store.url.clone());
        config.store.key_prefix = store.prefix.clone();
        config.jwt.signing_key = Some(Secret::new(crate::support::SIGNING_KEY));
    }
    config.admin.listen = Some("127.0.0.1:0".parse().unwrap());
    config.admin.token = Some(Secret::new(ADMIN_TOKEN));
    for m in &mut config.mounts {
        m.listen = "127.0.0.1:0".parse().unwrap();
    }
    let running = app::start(app::plan(config).expect("plan")).await.expect("start");
    let admin = running.admin_addr.expect("admin");
    let target = Target {
        base: format!("http://{}", running.addr_of("acme").expect("acme mounted")),
        outbox: Some(OutboxAccess::admin(&format!("http://{admin}"), Some(Secret::new(ADMIN_TOKEN)))),
        vars: Default::default(),
    };
    let scenarios = contract::load_dir(&root().join("fixtures/acme")).expect("acme fixtures");
    let r = contract::run(&target, "acme", &scenarios, |_| {}).await;
    running.shutdown().await;
    assert!(r.passed() > 0 && r.failed() + r.skipped() == 0, "{}", report::text(&r));
}

both_stores!(every_fixture_passes, acme_from_its_own_config);
