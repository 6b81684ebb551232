//! Reading the mail outbox of the target: polyauth's admin route
//! (`GET <admin>/outbox?to=ADDR`, bearer token) or any endpoint answering a
//! JSON list of mails, oldest first (the reference server's `/_oracle/outbox/`).

use serde_json::Value;

use super::client::Http;
use crate::secret::Secret;

/// Where the target's outbox is, if it has one.
#[derive(Clone)]
pub struct OutboxAccess {
    /// The full outbox endpoint; `?to=ADDR` is appended.
    pub url: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub token: Option<Secret>,
}

impl OutboxAccess {
    /// polyauth's admin listener at `admin_url` (e.g. `http://127.0.0.1:9100`).
    pub fn admin(admin_url: &str, token: Option<Secret>) -> Self {
        Self { url: format!("{}/outbox", admin_url.trim_end_matches('/')), token }
    }

    /// Mails to `to`, oldest first; the error is a plain sentence for the report.
    pub async fn list(&self, http: &Http, to: &str) -> Result<Vec<Value>, String> {
        let query: String = form_urlencoded::Serializer::new(String::new()).append_pair("to", to).finish();
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}{query}", self.url);
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        if let Some(t) = &self.token {
            headers.push(("Authorization".to_owned(), format!("Bearer {}", t.expose())));
        }
        let a = http.send("GET", &url, &headers, Vec::new()).await.map_err(|e| format!("outbox: {e}"))?;
        match a.status {
            200 => {}
            404 => {
                return Err(format!(
                    "the target has no mail outbox at {} (404); polyauth serves it only when an admin token is configured (POLYAUTH_ADMIN__TOKEN)",
                    self.url
                ))
            }
            401 | 403 => {
                return Err(format!(
                    "the outbox at {} refused the admin token ({}); pass the gateway's admin token with --admin-token or POLYAUTH_ADMIN__TOKEN",
                    self.url, a.status
                ))
            }
            s => return Err(format!("the outbox at {} answered {s}", self.url)),
        }
        match serde_json::from_slice::<Value>(&a.body) {
            Ok(Value::Array(mails)) => Ok(mails),
            _ => Err(format!("the outbox at {} did not answer a JSON list of mails", self.url)),
        }
    }
}
