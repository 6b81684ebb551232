use std::collections::BTreeMap;

use super::{parse, BindContext};
use crate::template::vars;

fn options(pairs: &[(&str, &str)]) -> BTreeMap<String, toml::Value> {
    pairs.iter().map(|(k, v)| (k.to_string(), toml::Value::String(v.to_string()))).collect()
}

fn ctx() -> BindContext<'static> {
    static NO_MAIL: BTreeMap<String, crate::template::MailTemplate> = BTreeMap::new();
    BindContext { mail: &NO_MAIL, rotation: crate::engine::Rotation::default() }
}

#[test]
fn login_authenticated_needs_something_to_issue() {
    let a = parse("login_authenticated", &options(&[("issue", "session")]), &ctx()).unwrap();
    assert!(a.needs_principal());
    assert!(a.inputs().is_empty());
    assert!(a.outputs().contains(&vars::TOKEN));
    assert!(a.outputs().contains(&vars::USER_EMAIL));
    let pair = parse("login_authenticated", &options(&[("issue", "jwt_pair")]), &ctx()).unwrap();
    assert!(pair.outputs().contains(&vars::REFRESH));
    assert!(parse("login_authenticated", &options(&[]), &ctx()).is_err());
    assert!(parse("login_authenticated", &options(&[("issue", "nothing")]), &ctx()).is_err());
    let extra = parse("login_authenticated", &options(&[("issue", "session"), ("identify_by", "email")]), &ctx());
    assert!(extra.unwrap_err().contains("unknown field"));
}

#[test]
fn unknown_names_and_values_are_refused() {
    assert!(parse("make_coffee", &options(&[]), &ctx()).unwrap_err().contains("unknown action"));
    assert!(parse("login", &options(&[("issue", "cookie")]), &ctx()).is_err());
    assert!(parse("logout", &options(&[("revoke", "everything")]), &ctx()).is_err());
}

#[test]
fn an_action_that_mails_needs_its_template() {
    let err = parse("password_reset_request", &options(&[]), &ctx()).unwrap_err();
    assert!(err.contains("[mail.password_reset] is missing"), "{err}");
}

#[test]
fn every_registered_action_builds_from_its_defaults_or_says_why() {
    for name in super::names() {
        let built = parse(name, &options(&[]), &ctx());
        match name {
            "login_authenticated" | "password_reset_request" | "email_verify_request" | "username_reset_request" => {
                assert!(built.is_err())
            }
            _ => assert!(built.is_ok(), "{name}: {:?}", built.err()),
        }
    }
}
