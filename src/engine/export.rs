//! Going back: the store's users and live auth tokens as `manage.py
//! dumpdata` JSON that Django's `loaddata` reads (`auth.user` records, hashes
//! in Django's string format by `passwords::to_django`, then
//! `authtoken.token`), written as it is read, a page of users at a time.

use std::io::Write;

use serde_json::json;

use super::*;
use crate::store::UserRecord;

/// Users read per store round.
const PAGE: usize = 500;

/// What an export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ExportReport {
    pub users: u64,
    pub tokens: u64,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("cannot write the dump: {0}")]
    Write(#[from] std::io::Error),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn user_json(u: &UserRecord) -> serde_json::Value {
    json!({
        "model": "auth.user",
        "pk": u.id,
        "fields": {
            "password": passwords::to_django(&u.password_hash),
            "last_login": u.last_login.map(import::dump::format_datetime),
            "is_superuser": false,
            "username": u.username,
            "first_name": "",
            "last_name": "",
            "email": u.email,
            "is_staff": u.is_staff,
            "is_active": u.is_active,
            "date_joined": import::dump::format_datetime(u.date_joined),
            "groups": [],
            "user_permissions": [],
        }
    })
}

impl Engine {
    /// Writes every user, then every live auth token, as one dumpdata JSON array.
    pub async fn export_dump(&self, out: &mut dyn Write) -> Result<ExportReport, ExportError> {
        let mut report = ExportReport::default();
        out.write_all(b"[")?;
        let mut first = true;
        let mut record = |out: &mut dyn Write, v: serde_json::Value| -> std::io::Result<()> {
            out.write_all(if first { b"\n" } else { b",\n" })?;
            first = false;
            serde_json::to_writer(&mut *out, &v)?;
            Ok(())
        };
        self.each_user(async |u| {
            record(out, user_json(u))?;
            report.users += 1;
            Ok(())
        })
        .await?;
        // Tokens after every user: loaddata checks a token's user exists.
        self.each_user(async |u| {
            if let Some(key) = self.live_auth_token(u.id).await? {
                let created = import::dump::format_datetime(now());
                record(
                    out,
                    json!({"model": "authtoken.token", "pk": key, "fields": {"user": u.id, "created": created}}),
                )?;
                report.tokens += 1;
            }
            Ok(())
        })
        .await?;
        out.write_all(b"\n]\n")?;
        out.flush()?;
        Ok(report)
    }

    /// Every user, in id order, a page at a time (never all of them in memory).
    async fn each_user(
        &self,
        mut visit: impl AsyncFnMut(&UserRecord) -> Result<(), ExportError>,
    ) -> Result<(), ExportError> {
        let mut after = 0;
        loop {
            let page = self.inner.store.list_users_after(after, PAGE).await.map_err(EngineError::from)?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            for u in &page {
                visit(u).await?;
            }
        }
    }
}
