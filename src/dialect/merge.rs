//! A dialect file over the base it `extends`: what the file leaves unset
//! comes from the base, key by key (routes: the base's first).

use super::spec::*;

/// Fills what `top` leaves unset from `base` (top wins key by key).
pub(super) fn merge(top: &mut DialectFile, base: &DialectFile) {
    let (t, b) = (&mut top.dialect, &base.dialect);
    t.error_style = t.error_style.or(b.error_style);
    t.trailing_slash = t.trailing_slash.or(b.trailing_slash);
    t.www_authenticate = t.www_authenticate.clone().or_else(|| b.www_authenticate.clone());
    t.drf_views = t.drf_views.or(b.drf_views);
    t.rotate_refresh = t.rotate_refresh.or(b.rotate_refresh);
    t.blacklist_after_rotation = t.blacklist_after_rotation.or(b.blacklist_after_rotation);
    match (&mut t.jwt, &b.jwt) {
        (None, Some(bj)) => t.jwt = Some(bj.clone()),
        (Some(tj), Some(bj)) => {
            tj.signing_key = tj.signing_key.clone().or_else(|| bj.signing_key.clone());
            tj.access_lifetime = tj.access_lifetime.or(bj.access_lifetime);
            tj.refresh_lifetime = tj.refresh_lifetime.or(bj.refresh_lifetime);
            tj.leeway = tj.leeway.or(bj.leeway);
            tj.user_id_claim = tj.user_id_claim.clone().or_else(|| bj.user_id_claim.clone());
            tj.check_revoke = tj.check_revoke.or(bj.check_revoke);
            tj.revoke_claim = tj.revoke_claim.clone().or_else(|| bj.revoke_claim.clone());
        }
        _ => {}
    }
    if let Some(bm) = &base.metadata {
        let tm = top.metadata.get_or_insert_with(MetadataSpec::default);
        tm.renders = tm.renders.clone().or_else(|| bm.renders.clone());
        tm.parses = tm.parses.clone().or_else(|| bm.parses.clone());
        for (k, v) in &bm.serializers {
            tm.serializers.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    t.redirect_omits_headers = t.redirect_omits_headers.clone().or_else(|| b.redirect_omits_headers.clone());
    t.default_authenticators = t.default_authenticators.clone().or_else(|| b.default_authenticators.clone());
    for (k, v) in &b.headers {
        t.headers.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &base.authenticators {
        top.authenticators.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &base.errors {
        top.errors.entry(*k).or_insert_with(|| v.clone());
    }
    for (k, v) in &base.messages {
        top.messages.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for (k, v) in &base.mail {
        top.mail.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if !base.routes.is_empty() {
        let mut routes = base.routes.clone();
        routes.append(&mut top.routes);
        top.routes = routes;
    }
}
