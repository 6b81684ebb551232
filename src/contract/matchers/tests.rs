use serde_json::json;

use super::*;

const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2ln";

fn vars() -> Vars {
    let mut v = Vars::new();
    v.insert("run".into(), json!("ab12"));
    v.insert("id".into(), json!(7));
    v
}

#[test]
fn substitution_keeps_types_and_reports_unknown_names() {
    let v = vars();
    assert_eq!(substitute_str("${id}", &v).unwrap(), json!(7));
    assert_eq!(substitute_str("u_${run}_${id}", &v).unwrap(), json!("u_ab12_7"));
    assert_eq!(substitute_str("cost $$5 {{jwt}}", &v).unwrap(), json!("cost $5 {{jwt}}"));
    let err = substitute_str("Bearer ${access}", &v).unwrap_err();
    assert!(err.contains("${access} is not set"), "{err}");
    assert_eq!(
        substitute(&json!({"user_${run}": ["${id}", "{{null}}"]}), &v).unwrap(),
        json!({"user_ab12": [7, "{{null}}"]})
    );
    assert_eq!(request_value(json!({"a": "{{null}}", "b": ["{{null}}"]})), json!({"a": null, "b": [null]}));
}

#[test]
fn kinds() {
    assert!(is_jwt(JWT));
    assert!(!is_jwt("a.b.c"));
    assert!(is_opaque("5ee4086b717713f67bebf5981bbcfb1092013fd4"));
    assert!(!is_opaque(JWT));
    assert!(!is_opaque("short"));
    assert!(!is_opaque("has a space in it"));
}

#[test]
fn json_matching_names_each_field() {
    let mut o = Outcome::new(&vars());
    let expected = json!({"access": "{{jwt:access}}", "id": "{{number}}", "detail": "x", "gone": 1});
    let actual = json!({"access": JWT, "id": "7", "detail": "y", "extra": true});
    o.json("body", &expected, &actual, false);
    assert_eq!(o.captures, vec![("access".to_owned(), json!(JWT))]);
    assert_eq!(
        o.diffs,
        vec![
            "body.id: expected a number, got \"7\"",
            "body.detail: expected \"x\", got \"y\"",
            "body.gone: missing (expected 1)",
            "body.extra: unexpected key (got true)",
        ]
    );
    let mut o = Outcome::new(&vars());
    o.json("mail", &json!({"to": ["a@b.c"]}), &json!({"to": ["a@b.c"], "token": "t"}), true);
    assert!(o.diffs.is_empty());
    let mut o = Outcome::new(&vars());
    o.json("body", &json!({"n": [1, 2]}), &json!({"n": [1]}), false);
    assert_eq!(o.diffs, vec!["body.n: expected 2 item(s), got 1: [1]"]);
    let mut o = Outcome::new(&vars());
    o.json("body", &json!({"n": 1}), &json!({"n": 1.0}), false);
    assert!(o.diffs.is_empty());
}

#[test]
fn text_patterns_mix_literals_and_matchers() {
    let mut o = Outcome::new(&vars());
    o.text("header Authorization", "Token {{opaque:tok}}", Some("Token 0123456789abcdef"));
    assert_eq!(o.captures, vec![("tok".to_owned(), json!("0123456789abcdef"))]);
    o.text("header Location", "/reset/{{any_string}}/done", Some("/reset/x/y/done"));
    o.text("body", "id={{number}};", Some("id=42;"));
    assert!(o.diffs.is_empty(), "{:?}", o.diffs);
    o.text("header Allow", "GET, POST", Some("POST"));
    o.text("header X", "a", None);
    assert_eq!(
        o.diffs,
        vec!["header Allow: expected \"GET, POST\", got \"POST\"", "header X: missing (expected \"a\")"]
    );
    // Double braces that name no matcher are literal text.
    let mut o = Outcome::new(&vars());
    o.text("body", "{{x}}", Some("{{x}}"));
    assert!(o.diffs.is_empty());
}
