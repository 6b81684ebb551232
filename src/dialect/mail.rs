//! Mail templates at load: every placeholder must be a mail variable, and a
//! mount's `[mount.mail.<kind>]` rewords a mail the dialect sends, part by part.

use std::collections::BTreeMap;

use super::{DialectError, DialectFile, Settings};
use crate::template::{self, vars, MailOverride};

/// Applies a mount's mail overrides (settings references resolved, as in dialect files).
pub(super) fn override_mail(
    top: &mut DialectFile,
    mail: &BTreeMap<String, MailOverride>,
    settings: &Settings,
) -> Result<(), DialectError> {
    for (kind, o) in mail {
        let merr = |message: String| DialectError::Mail { kind: kind.clone(), message };
        let Some(t) = top.mail.get_mut(kind) else {
            let known: Vec<&str> = top.mail.keys().map(String::as_str).collect();
            return Err(merr(format!("the dialect sends no such mail (it sends: {})", known.join(", "))));
        };
        let mut o = o.clone();
        for part in [&mut o.subject, &mut o.body, &mut o.html, &mut o.url].into_iter().flatten() {
            let mut v = toml::Value::String(std::mem::take(part));
            settings.substitute(&mut v).map_err(merr)?;
            *part = v.as_str().map(str::to_owned).ok_or_else(|| merr("a setting made a part not text".into()))?;
        }
        t.apply(&o);
        check_mail(kind, t).map_err(merr)?;
    }
    Ok(())
}

/// Every placeholder of a mail template must be a mail variable.
pub(super) fn check_mail(kind: &str, m: &template::MailTemplate) -> Result<(), String> {
    for t in m.parts() {
        for p in template::placeholders(t).map_err(|e| format!("mail {kind}: {e}"))? {
            if !vars::MAIL.contains(&p.as_str()) {
                return Err(format!("mail {kind}: unknown placeholder {{{p}}}"));
            }
        }
    }
    Ok(())
}
