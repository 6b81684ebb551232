//! The README's architecture invariants, checked on the source text: each one
//! fails here the moment a change breaks it.

use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` (or the file itself), with its text.
fn rust_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    if dir.extension().is_none() {
        todo.push(dir.with_extension("rs"));
    }
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        } else if p.extension().is_some_and(|e| e == "rs") && p.exists() {
            let text = std::fs::read_to_string(&p).unwrap();
            out.push((p, text));
        }
    }
    out
}

/// Lines that are code (comments and doc comments dropped).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.starts_with("//"))
}

fn violations(files: &[(PathBuf, String)], forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, text) in files {
        for (n, line) in code_lines(text) {
            // A return type is not a construction.
            let line = line.replace("-> Reply {", "");
            if let Some(f) = forbidden.iter().find(|f| line.contains(**f)) {
                out.push(format!("{}:{n}: {f:?} in {line:?}", path.display()));
            }
        }
    }
    out
}

#[test]
fn the_engine_the_store_and_the_mail_sender_know_nothing_of_http_or_dialects() {
    let mut files = rust_files(&src().join("engine"));
    files.extend(rust_files(&src().join("store")));
    files.extend(rust_files(&src().join("mail")));
    assert!(files.len() > 10, "found the engine, store and mail sources");
    assert!(files.iter().any(|(p, _)| p.ends_with("mail/sender.rs")), "found the mail sender");
    let bad = violations(
        &files,
        &["hyper::", "use hyper", "http::", "crate::http", "crate::dialect", "crate::actions", "crate::failure"],
    );
    assert!(
        bad.is_empty(),
        "the engine, store and mail sender must not import the HTTP or dialect layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn actions_do_not_know_the_dialect_or_http() {
    let files = rust_files(&src().join("actions"));
    assert!(files.len() > 10, "found the action sources");
    let bad = violations(&files, &["crate::dialect", "crate::http", "hyper::", "use hyper"]);
    assert!(bad.is_empty(), "actions get what they need, not the dialect:\n{}", bad.join("\n"));
}

#[test]
fn template_and_failure_are_leaf_modules() {
    for leaf in ["template.rs", "failure.rs"] {
        let files = rust_files(&src().join(leaf));
        assert_eq!(files.len(), 1, "{leaf}");
        let bad = violations(&files, &["crate::", "super::super"]);
        assert!(bad.is_empty(), "{leaf} must import nothing of the crate:\n{}", bad.join("\n"));
    }
}

#[test]
fn error_bodies_are_built_only_by_the_renderer() {
    let renderer = src().join("http").join("render.rs");
    let files: Vec<_> = rust_files(&src()).into_iter().filter(|(p, _)| *p != renderer).collect();
    // A response assembled field by field, or an error status given to a body
    // constructor, outside `http::render`.
    let mut forbidden = vec!["Reply {", "Response::builder", "status_mut()", "StatusCode::from_u16"];
    let error_statuses: Vec<String> = (400..600)
        .flat_map(|s| [format!("Reply::json({s}"), format!("Reply::empty({s}"), format!("Reply::bytes({s}")])
        .collect();
    forbidden.extend(error_statuses.iter().map(String::as_str));
    let bad = violations(&files, &forbidden);
    assert!(bad.is_empty(), "only http::render builds error answers:\n{}", bad.join("\n"));
    // The checks above must be able to fail: the renderer itself does all of it.
    let own = violations(&rust_files(&renderer), &forbidden);
    assert!(!own.is_empty(), "the scan finds the renderer's own constructors");
}

#[test]
fn every_password_check_goes_through_the_lockout() {
    let (lockout, hasher) = (src().join("engine").join("lockout.rs"), src().join("engine").join("passwords.rs"));
    // The hasher's own submodules (`passwords/django.rs`, its unit tests) verify too.
    let hasher_dir = src().join("engine").join("passwords");
    let files: Vec<_> = rust_files(&src())
        .into_iter()
        .filter(|(p, _)| *p != lockout && *p != hasher && !p.starts_with(&hasher_dir))
        .collect();
    let forbidden = ["hasher.verify", "verify_dummy(", "bcrypt::verify", "verify_now(", "django::verify("];
    let bad = violations(&files, &forbidden);
    assert!(bad.is_empty(), "only engine::lockout checks passwords (so each check is counted):\n{}", bad.join("\n"));
    assert!(!violations(&rust_files(&lockout), &forbidden).is_empty(), "the scan finds the lockout's own checks");
}

#[test]
fn x_forwarded_for_is_read_only_behind_trusted_proxies() {
    let reader = src().join("http").join("client_addr.rs");
    let files: Vec<_> = rust_files(&src()).into_iter().filter(|(p, _)| *p != reader).collect();
    let lowered: Vec<_> = files.into_iter().map(|(p, t)| (p, t.to_ascii_lowercase())).collect();
    let bad = violations(&lowered, &["x-forwarded-for", "forwarded"]);
    assert!(bad.is_empty(), "only http::client_addr reads X-Forwarded-For:\n{}", bad.join("\n"));
    let own: Vec<_> = rust_files(&reader).into_iter().map(|(p, t)| (p, t.to_ascii_lowercase())).collect();
    assert!(!violations(&own, &["x-forwarded-for"]).is_empty(), "the scan finds the reader itself");
}

#[test]
fn cors_headers_are_added_in_one_place() {
    let home = src().join("http").join("cors.rs");
    let files: Vec<_> = rust_files(&src()).into_iter().filter(|(p, _)| *p != home).collect();
    let forbidden = ["Access-Control-", "access-control-"];
    let bad = violations(&files, &forbidden);
    assert!(bad.is_empty(), "only http::cors adds CORS headers:\n{}", bad.join("\n"));
    assert!(!violations(&rust_files(&home), &forbidden).is_empty(), "the scan finds http::cors's own headers");
}
