//! A matched route's own work: the caller (authentication, permission,
//! throttles, in DRF's order), the body and inputs, the action, and the
//! success rendered from the route's templates.

use hyper::header::{CACHE_CONTROL, PRAGMA};

use serde_json::{Map, Value};

use crate::actions::{Inputs, SiteLinks};

use super::*;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
const NO_CACHE: HeaderValue = HeaderValue::from_static("no-cache");

/// The authenticated caller, if any; refuses when the route needs one and nobody is there.
async fn caller(
    gw: &Gateway,
    d: &Dialect,
    route: &Route,
    headers: &hyper::HeaderMap,
    fields: Option<&Fields<'_>>,
    origin: &Origin,
) -> Result<Option<Principal>, Vec<Failure>> {
    let principal =
        auth::authenticate(&gw.engine, d, &route.auth_slots, headers, fields, origin).await.map_err(|f| vec![f])?;
    if route.spec.permission == Permission::Authenticated && principal.is_none() {
        return Err(vec![Failure::new(ErrorKey::NotAuthenticated)]);
    }
    // DRF's check_throttles: after authentication and permissions, before the view.
    throttle::check(&gw.engine, d, route.spec.throttle_scope.as_deref(), principal.as_ref(), origin.client)
        .await
        .map_err(|f| vec![f])?;
    Ok(principal)
}

pub(super) async fn run_route(
    gw: &Gateway,
    mount: &Mount,
    route: &Route,
    req: Req<'_>,
    params: &[(String, String)],
    links: &LazyLinks<'_>,
    origin: &Origin,
) -> Result<Reply, Vec<Failure>> {
    let d = &mount.dialect;
    let Req { head: parts, body: incoming } = req;
    let body_auth = route.body_auth;
    // DRF authenticates and checks permissions before the view parses the body: a bad
    // or missing credential is a 401 even when the body is unparseable. Only a route
    // whose authenticator reads the body has to parse it first.
    let mut principal = if body_auth { None } else { caller(gw, d, route, &parts.headers, None, origin).await? };
    let mut fields = Fields::new(&route.body_fields);
    if !route.body_fields.is_empty() {
        let read = gw.body_deadlines.run(body::read(incoming, &parts.headers, gw.body_limit));
        let bytes = read.await.ok_or_else(|| vec![Failure::new(ErrorKey::RequestTimeout)])?.map_err(|f| vec![f])?;
        fields = body::parse(bytes, &parts.headers, &route.spec.body, &route.body_fields).await.map_err(|f| vec![f])?;
    } else {
        drop(incoming);
    }
    if body_auth {
        principal = caller(gw, d, route, &parts.headers, Some(&fields), origin).await?;
    }
    let inputs = inputs::collect(route, &fields, params, parts.uri.query(), &parts.headers)?;
    let call = Call {
        engine: &gw.engine,
        inputs: Inputs(&inputs),
        wire: &route.wire,
        principal: principal.as_ref(),
        dialect: &d.name,
        links,
        used: route.used_vars.as_deref(),
        jwt: &d.jwt,
        source: origin,
    };
    let mut out = route.action.run(&call).await?;
    // The variables every template may use, added only where the route's do.
    let add_request_vars = |v: &mut Map<String, Value>| {
        if route.uses(vars::BASE_URL) {
            v.insert(vars::BASE_URL.into(), links.base_url().into());
        }
        if route.uses(vars::DIALECT) {
            v.insert(vars::DIALECT.into(), d.name.as_str().into());
        }
    };
    add_request_vars(&mut out);
    let status = route.spec.response.status;
    let mut reply = match (&route.compiled, &route.body, &route.spec.response.each) {
        // One rendering per item of the list, each with the item's variables.
        (_, Some(t), Some(list)) => {
            let items = out.get(list.as_str()).and_then(|v| v.as_array()).cloned().unwrap_or_default();
            let rendered = items
                .into_iter()
                .map(|item| {
                    let mut v = item.as_object().cloned().unwrap_or_default();
                    add_request_vars(&mut v);
                    template::render(t, &v)
                })
                .collect();
            Reply::json(status, &Value::Array(rendered))
        }
        (Some(c), _, None) => Reply::json_bytes(status, c.to_json(&out)),
        _ => Reply::empty(status),
    };
    // A response carrying a credential is never stored by a cache (RFC 6749 §5.1).
    if [vars::TOKEN, vars::ACCESS, vars::REFRESH].iter().any(|k| out.contains_key(*k)) {
        reply = reply.header(CACHE_CONTROL, NO_STORE).header(PRAGMA, NO_CACHE);
    }
    for (k, v) in &route.spec.response.headers {
        reply = reply.header_named(k, &template::render_str(v, &out));
    }
    Ok(reply)
}
