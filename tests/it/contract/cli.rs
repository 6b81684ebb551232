//! `polyauth contract` as a user runs it: the binary against an in-process
//! gateway. Exit status, the step-and-field diff of a deliberately altered
//! dialect, JUnit XML, and the plain message when the outbox is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{gateway, Gw, StoreKind, ADMIN_TOKEN};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the binary off the async runtime (the gateway keeps serving meanwhile).
async fn polyauth(args: Vec<String>, admin_token: bool) -> Run {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_polyauth"));
        cmd.args(&args).current_dir(root()).env_remove("POLYAUTH_ADMIN__TOKEN");
        if admin_token {
            cmd.env("POLYAUTH_ADMIN__TOKEN", ADMIN_TOKEN);
        }
        let out = cmd.output().expect("run polyauth");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("join")
}

fn contract_args(g: &Gw, dialect: &str, fixtures: &Path, extra: &[String]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "contract".into(),
        "--dialect".into(),
        dialect.into(),
        "--target".into(),
        format!("http://{}", g.addr(dialect)),
        "--fixtures".into(),
        fixtures.display().to_string(),
    ];
    a.extend_from_slice(extra);
    a
}

fn admin_args(g: &Gw) -> Vec<String> {
    vec!["--admin-url".into(), format!("http://{}", g.running.admin_addr.expect("admin"))]
}

/// Number of `[[step]]`s in a fixture directory.
fn step_count(dir: &Path) -> usize {
    polyauth::contract::load_dir(dir).expect("fixtures").iter().map(|s| s.steps.len()).sum()
}

/// Checks JUnit XML is well-formed with one test case per step; returns the failed case names.
fn junit_cases(xml: &str, expected_cases: usize) -> Vec<String> {
    let doc = roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("JUnit is not well-formed XML: {e}\n{xml}"));
    assert_eq!(doc.root_element().tag_name().name(), "testsuites");
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    assert_eq!(cases.len(), expected_cases, "one test case per step");
    assert!(cases.iter().all(|c| c.parent().is_some_and(|p| p.has_tag_name("testsuite"))));
    let failures = doc.descendants().filter(|n| n.has_tag_name("failure")).count();
    assert_eq!(doc.root_element().attribute("failures"), Some(failures.to_string().as_str()));
    cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap_or_default().to_owned())
        .collect()
}

async fn passes_against_polyauth_with_junit(kind: StoreKind) {
    let g = gateway(kind).mount("simplejwt", "/").start().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let fixtures = root().join("fixtures/simplejwt");
    let extra = vec!["--junit".to_owned(), junit.display().to_string()];
    let r = polyauth(contract_args(&g, "simplejwt", &fixtures, &extra), false).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
    let steps = step_count(&fixtures);
    assert!(r.stdout.contains(&format!("simplejwt: {steps} passed, 0 failed, 0 skipped")), "{}", r.stdout);
    assert!(r.stdout.contains("  PASS  register / 1 register a new user"), "{}", r.stdout);
    let failed = junit_cases(&std::fs::read_to_string(&junit).unwrap(), steps);
    assert!(failed.is_empty(), "{failed:?}");
}

/// A copy of `dialects/` with one wording changed, so the server answers wrongly.
fn altered_dialects(from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(root().join("dialects")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let text = if p.ends_with("simplejwt.toml") {
            assert!(text.contains(from), "simplejwt.toml no longer contains {from:?}");
            text.replace(from, to)
        } else {
            text
        };
        std::fs::write(dir.path().join(p.file_name().unwrap()), text).unwrap();
    }
    dir
}

async fn fails_with_a_diff_naming_step_and_field(kind: StoreKind) {
    let dialects = altered_dialects(r#"detail = "User already exists""#, r#"detail = "User <exists> & \"taken\"""#);
    let g = gateway(kind).dialects_dir(dialects.path().to_owned()).mount("simplejwt", "/").start().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let fixtures = root().join("fixtures/simplejwt");
    let extra = vec!["--junit".to_owned(), junit.display().to_string()];
    let r = polyauth(contract_args(&g, "simplejwt", &fixtures, &extra), false).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    let expected = "  FAIL  register / 2 the same username again is 409\n        body.detail: expected \"User already exists\", got \"User <exists> & \\\"taken\\\"\"";
    assert!(r.stdout.contains(expected), "{}", r.stdout);
    assert!(r.stdout.contains("1 failed"), "{}", r.stdout);
    let failed = junit_cases(&std::fs::read_to_string(&junit).unwrap(), step_count(&fixtures));
    assert_eq!(failed, vec!["02 the same username again is 409"]);
}

async fn says_plainly_when_the_outbox_is_missing(kind: StoreKind) {
    let server = root().join("fixtures/acme/server");
    let g = gateway(kind).dialects_dir(server).mount("acme", "/").start().await;
    let fixtures = root().join("fixtures/acme");
    // No --admin-url: the reset scenario cannot read its mail.
    let r = polyauth(contract_args(&g, "acme", &fixtures, &[]), false).await;
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.contains("SKIP  password_reset / 3 the mail carries the link with its token"), "{}", r.stdout);
    assert!(r.stdout.contains("needs the mail outbox, and the target has none configured"), "{}", r.stdout);
    assert!(r.stdout.contains("not run: step 3 (\"the mail carries the link with its token\") needed the mail outbox"));
    assert!(r.stdout.contains(" 0 failed, "), "{}", r.stdout);
    // An admin URL without the token: refused, in words.
    let r = polyauth(contract_args(&g, "acme", &fixtures, &admin_args(&g)), false).await;
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("refused the admin token (401)"), "{}", r.stdout);
    // With the token, everything runs.
    let r = polyauth(contract_args(&g, "acme", &fixtures, &admin_args(&g)), true).await;
    assert_eq!(r.code, 0, "{}", r.stdout);
}

async fn bad_fixtures_and_targets_are_usage_errors(kind: StoreKind) {
    let g = gateway(kind).mount("simplejwt", "/").start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.toml"),
        "[[step]]\nname = \"a\"\nrequest = { path = \"/\" }\nexpect = { statuss = 200 }\n",
    )
    .unwrap();
    let r = polyauth(contract_args(&g, "simplejwt", dir.path(), &[]), false).await;
    assert_eq!(r.code, 64);
    // An unreachable target: one plain line.
    let fixtures = root().join("fixtures/simplejwt");
    let mut args = contract_args(&g, "simplejwt", &fixtures, &[]);
    args[4] = format!("http://127.0.0.1:{}", crate::support::free_port());
    let r = polyauth(args, false).await;
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("cannot reach http://127.0.0.1:") && r.stderr.contains("is the server running?"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
    // https is refused in words; --var needs NAME=VALUE.
    let mut args = contract_args(&g, "simplejwt", &fixtures, &[]);
    args[4] = "https://127.0.0.1:1".into();
    let r = polyauth(args, false).await;
    assert!(r.stderr.contains("https:// targets are not supported"), "{}", r.stderr);
    let r = polyauth(contract_args(&g, "simplejwt", &fixtures, &["--var".into(), "novalue".into()]), false).await;
    assert_eq!(r.code, 64, "{}", r.stderr);
}

both_stores!(
    passes_against_polyauth_with_junit,
    fails_with_a_diff_naming_step_and_field,
    says_plainly_when_the_outbox_is_missing,
    bad_fixtures_and_targets_are_usage_errors,
);
