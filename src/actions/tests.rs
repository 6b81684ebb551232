use std::collections::BTreeMap;

use super::{Action, Issue};

fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, toml::Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string()))).collect()
}

#[test]
fn login_authenticated_needs_something_to_issue() {
    let a = Action::parse("login_authenticated", &options(&[("issue", "session")])).unwrap();
    assert_eq!(a, Action::LoginAuthenticated { issue: Issue::Session });
    assert!(a.needs_principal());
    assert!(a.inputs().is_empty());
    assert!(a.outputs().contains(&"token"));
    assert!(a.outputs().contains(&"user.email"));
    let pair = Action::parse("login_authenticated", &options(&[("issue", "jwt_pair")])).unwrap();
    assert!(pair.outputs().contains(&"refresh"));
    assert!(Action::parse("login_authenticated", &options(&[])).is_err());
    assert!(Action::parse("login_authenticated", &options(&[("issue", "nothing")])).is_err());
    assert!(Action::parse("login_authenticated", &options(&[("issue", "session"), ("identify_by", "email")])).is_err());
}
