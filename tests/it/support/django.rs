//! The real Django: `tests/django/build_legacy.py` builds a legacy database
//! and dumps it, once per test process (every store's test shares the
//! dump). The pinned packages are installed into `target/django-legacy` by
//! `scripts/test.sh` (`LEGACY_DJANGO_PYTHONPATH` names another place); a run
//! without them fails, saying so, rather than skipping.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

/// The dumps and what the script reported about them.
pub struct Legacy {
    pub dir: PathBuf,
    pub facts: Value,
}

impl Legacy {
    pub fn dump(&self) -> PathBuf {
        self.dir.join("dump.json")
    }

    pub fn dump_lines(&self) -> PathBuf {
        self.dir.join("dump.jsonl")
    }

    pub fn emailauth(&self) -> PathBuf {
        self.dir.join("emailauth.json")
    }

    pub fn users(&self) -> &Vec<Value> {
        self.facts["users"].as_array().expect("users")
    }
}

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Where the Django packages are (PYTHONPATH for python3).
pub fn python_path() -> String {
    std::env::var("LEGACY_DJANGO_PYTHONPATH")
        .unwrap_or_else(|_| manifest().join("target/django-legacy").display().to_string())
}

/// A python3 with the Django packages on its path, in `tests/django`.
pub fn python() -> Command {
    let path = python_path();
    let probe = Command::new("python3")
        .args(["-c", "import django, rest_framework, rest_framework_simplejwt, argon2, bcrypt"])
        .env("PYTHONPATH", &path)
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "the Django packages are not installed in {path}: run scripts/test.sh (it installs them there)\n{}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => panic!("python3 cannot run ({e}): run scripts/test.sh"),
    }
    let mut cmd = Command::new("python3");
    cmd.env("PYTHONPATH", path)
        .env("LEGACY_SECRET_KEY", super::SIGNING_KEY)
        .current_dir(manifest().join("tests/django"));
    cmd
}

/// Builds the legacy database and its dumps, once per test process.
pub fn legacy() -> &'static Legacy {
    static LEGACY: OnceLock<Legacy> = OnceLock::new();
    LEGACY.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("django-legacy-{}", std::process::id()));
        let out = python().arg("build_legacy.py").arg(&dir).output().expect("build_legacy.py");
        assert!(out.status.success(), "build_legacy.py failed: {}", String::from_utf8_lossy(&out.stderr));
        let facts = serde_json::from_slice(&out.stdout).expect("build_legacy.py prints JSON");
        Legacy { dir, facts }
    })
}
