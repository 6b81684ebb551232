//! The shipped configs load: the Kubernetes example's gateway.toml with the
//! environment its Deployment sets, and the image's default config, each
//! through the real binary's `check-config` (paths under /etc/polyauth are
//! mapped to this checkout and to a test certificate), and the Cluster
//! overlay's store URL with it. Schema validation of
//! the manifests is `scripts/check-deploy.py`, run by `.ci/run`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::pki::TestCa;

fn repo(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// The Deployment's `POLYAUTH_…` variables: literal values as written, Secret references as stand-ins.
fn deployment_env() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo("deploy/kubernetes/deployment.yaml")).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let mut env = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(name) = line.strip_prefix("- name: POLYAUTH_") {
            let value = match lines.get(i + 1).and_then(|l| l.strip_prefix("value: ")) {
                Some(v) => v.to_owned(),
                None => "stand-in-secret-value-0123456789abcdef".to_owned(),
            };
            env.push((format!("POLYAUTH_{name}"), value));
        }
    }
    env
}

/// Writes `config` with /etc/polyauth paths mapped into `dir`; returns the file.
fn mapped(config: &str, dir: &Path) -> PathBuf {
    let ca = TestCa::new();
    std::fs::create_dir_all(dir.join("tls")).unwrap();
    ca.leaf().write(&dir.join("tls/tls.crt"), &dir.join("tls/tls.key"));
    let dialects = repo("dialects").display().to_string();
    let text = std::fs::read_to_string(repo(config))
        .unwrap()
        .replace("/etc/polyauth/dialects", &dialects)
        .replace("/etc/polyauth/tls/", &format!("{}/tls/", dir.display()));
    let file = dir.join("gateway.toml");
    std::fs::write(&file, text).unwrap();
    file
}

fn check_config(file: &Path, env: &[(String, String)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_polyauth"))
        .args(["check-config", "--config"])
        .arg(file)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("polyauth binary");
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn the_kubernetes_config_loads_with_the_deployments_environment() {
    let dir = tempfile::tempdir().unwrap();
    let file = mapped("deploy/kubernetes/gateway.toml", dir.path());
    let env = deployment_env();
    let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["POLYAUTH_STORE__URL", "POLYAUTH_JWT__SIGNING_KEY", "POLYAUTH_ADMIN__TOKEN"]);
    let (code, text) = check_config(&file, &env);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("config ok: 1 mount(s)"), "{text}");
    // The signing key really comes from the environment: without it the Redis config is refused.
    let without: Vec<_> = env.iter().filter(|(k, _)| k != "POLYAUTH_JWT__SIGNING_KEY").cloned().collect();
    let (code, text) = check_config(&file, &without);
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("signing_key"), "{text}");
}

#[test]
fn the_images_default_config_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = check_config(&mapped("deploy/container.toml", dir.path()), &[]);
    assert_eq!(code, 0, "{text}");
}

/// The Cluster overlay's store URL (deploy/kubernetes/cluster/replicas.yaml)
/// with the base's config: a Cluster URL the real binary accepts.
#[test]
fn the_cluster_overlay_config_loads() {
    let patch = std::fs::read_to_string(repo("deploy/kubernetes/cluster/replicas.yaml")).unwrap();
    let url = patch
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("value: redis+cluster://"))
        .map(|hosts| format!("redis+cluster://{hosts}"))
        .expect("a redis+cluster:// store URL in the overlay");
    let dir = tempfile::tempdir().unwrap();
    let file = mapped("deploy/kubernetes/gateway.toml", dir.path());
    let env: Vec<_> = deployment_env()
        .into_iter()
        .map(|(k, v)| if k == "POLYAUTH_STORE__URL" { (k, url.clone()) } else { (k, v) })
        .collect();
    let (code, text) = check_config(&file, &env);
    assert_eq!(code, 0, "{text}");
    // A key prefix with braces would put every key in one slot: refused on a Cluster.
    let braces: Vec<_> = env.iter().cloned().chain([("POLYAUTH_STORE__KEY_PREFIX".into(), "{pa}".into())]).collect();
    let (code, text) = check_config(&file, &braces);
    assert_eq!(code, 64, "{text}");
    assert!(text.contains("key_prefix"), "{text}");
}
