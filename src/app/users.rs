//! Users loaded at start, before serving: `[users] seed_file` (a TOML list of
//! users created when missing) and `[users] import_file` (a Django dump).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::StartError;
use crate::audit::Origin;
use crate::engine::{Engine, EngineError};
use crate::secret::Secret;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default, rename = "user")]
    users: Vec<SeedUser>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedUser {
    username: String,
    #[serde(default)]
    email: String,
    password: Secret,
    #[serde(default)]
    email_verified: bool,
    /// Django's `is_staff` (Djoser shows staff every user).
    #[serde(default)]
    is_staff: bool,
}

/// Creates the seed file's users that do not exist yet (idempotent across restarts and replicas).
pub(super) async fn seed_users(engine: &Engine, path: &Path) -> Result<(), StartError> {
    let file = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|e| StartError::Seed { file: file.clone(), message: e.to_string() })?;
    let seed: SeedFile =
        toml::from_str(&text).map_err(|e| StartError::Seed { file: file.clone(), message: e.to_string() })?;
    let mut created: BTreeMap<&str, bool> = BTreeMap::new();
    for u in &seed.users {
        if engine.username_taken(&u.username).await? {
            created.insert(&u.username, false);
            continue;
        }
        let origin = Origin::local("seed", "seed_file", "-");
        match engine.create_user_audited(&u.username, &u.email, &u.password, &origin).await {
            Ok(user) => {
                if u.email_verified || u.is_staff {
                    let update = crate::engine::UserUpdate {
                        email_verified: u.email_verified.then_some(true),
                        is_staff: u.is_staff.then_some(true),
                        ..Default::default()
                    };
                    engine.update_user(user.id, update).await?;
                }
                created.insert(&u.username, true);
            }
            // Another replica seeded it first.
            Err(EngineError::UsernameTaken) => {
                created.insert(&u.username, false);
            }
            Err(EngineError::EmailTaken) => {
                return Err(StartError::Seed {
                    file,
                    message: format!("user {}: email already belongs to another user", u.username),
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
    let n = created.values().filter(|c| **c).count();
    tracing::info!(file = %file, created = n, existing = created.len() - n, "users seeded");
    Ok(())
}

/// `[users] import_file`: a Django dump imported before serving.
pub(super) async fn import_on_start(engine: &Engine, path: &Path, user_model: Option<&str>) -> Result<(), StartError> {
    let file = path.display().to_string();
    let input =
        std::fs::File::open(path).map_err(|e| StartError::Seed { file: file.clone(), message: e.to_string() })?;
    let mut options = crate::engine::import::ImportOptions::default();
    if let Some(m) = user_model {
        options.user_model = m.to_owned();
    }
    let report = engine
        .import_dump(Box::new(std::io::BufReader::new(input)), &options, |_| {})
        .await
        .map_err(|e| StartError::Seed { file: file.clone(), message: e.to_string() })?;
    if let Some(p) = report.problems.iter().find(|p| p.bad) {
        let message = format!(
            "{} bad record(s), the first: record {} ({} pk={}): {}",
            report.bad_records(),
            p.index,
            p.model,
            p.pk,
            p.reason
        );
        return Err(StartError::Seed { file, message });
    }
    tracing::info!(
        file = %file,
        users_created = report.users_created,
        users_unchanged = report.users_unchanged,
        tokens = report.tokens_created + report.tokens_unchanged,
        blacklisted = report.blacklisted,
        "django dump imported"
    );
    Ok(())
}
