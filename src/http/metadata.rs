//! DRF's answer to `OPTIONS` (`SimpleMetadata`): the view's name and
//! description, what it renders and parses, and for `POST`/`PUT` the fields
//! of the serializer, all data from the dialect file (`view` on a route,
//! `[metadata]`). As in DRF, the view's authentication, permissions and
//! throttles run first, and a `PUT` on an object is listed only when the caller may change
//! that object. Refusals go back to the pipeline, which renders them.

use hyper::HeaderMap;
use serde_json::{Map, Value};

use super::render::Reply;
use super::{auth, throttle};
use crate::actions::Principal;
use crate::audit::Origin;
use crate::dialect::{Dialect, Permission, Route, ViewSpec};
use crate::engine::Engine;
use crate::failure::{ErrorKey, Failure};
use crate::template;

/// The `OPTIONS` answer for a path whose routes are `routes` (the first one's
/// authenticators speak for the view), or the failure to render instead.
pub async fn answer(
    engine: &Engine,
    d: &Dialect,
    view: &ViewSpec,
    routes: &[&Route],
    params: &[(String, String)],
    headers: &HeaderMap,
    origin: &Origin,
) -> Result<Reply, Failure> {
    let first = routes.first().ok_or_else(|| Failure::new(ErrorKey::NotFound))?;
    let principal = auth::authenticate(engine, d, &first.auth_slots, headers, None, origin).await?;
    if view.permission == Some(Permission::Authenticated) && principal.is_none() {
        return Err(Failure::new(ErrorKey::NotAuthenticated));
    }
    throttle::check(engine, d, first.spec.throttle_scope.as_deref(), principal.as_ref(), origin.client).await?;
    let mut body = Map::new();
    body.insert("name".into(), view.name.clone().into());
    body.insert("description".into(), view.description.clone().into());
    let list = |v: &Option<Vec<String>>| Value::from(v.clone().unwrap_or_default());
    body.insert("renders".into(), list(&d.metadata.renders));
    body.insert("parses".into(), list(&d.metadata.parses));
    let mut actions = Map::new();
    for (method, serializer) in &view.actions {
        if !routes.iter().any(|r| r.method.as_str() == method) {
            continue;
        }
        if method == "PUT" && !may_change(engine, view, params, principal.as_ref()).await? {
            continue;
        }
        let fields = d.metadata.serializers.get(serializer).cloned().unwrap_or_default();
        let fields: Map<String, Value> =
            fields.iter().map(|(name, info)| (name.clone(), template::toml_to_json(info, false))).collect();
        actions.insert(method.clone(), Value::Object(fields));
    }
    if !actions.is_empty() {
        body.insert("actions".into(), Value::Object(actions));
    }
    Ok(Reply::json(200, &Value::Object(body)))
}

/// DRF's `determine_actions` fetches the object and checks object permissions:
/// Djoser lets a user change itself, and staff anyone that exists.
async fn may_change(
    engine: &Engine,
    view: &ViewSpec,
    params: &[(String, String)],
    principal: Option<&Principal>,
) -> Result<bool, Failure> {
    let Some(param) = &view.object_param else {
        return Ok(true);
    };
    let Some(me) = principal.map(|p| &p.user) else {
        return Ok(false);
    };
    let Some(id) = params.iter().find(|(k, _)| k == param).and_then(|(_, v)| v.parse::<u64>().ok()) else {
        return Ok(false);
    };
    let found = engine.find_user(id).await.map_err(crate::actions::engine_failure)?;
    Ok(found.is_some_and(|u| u.id == me.id || me.is_staff))
}
