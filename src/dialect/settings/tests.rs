use super::*;

fn table(text: &str) -> toml::Table {
    text.parse().unwrap()
}

fn declared() -> Declared {
    let mut d = Declared::default();
    d.add(&table(
        r#"
ALLOWED_HOSTS = ["*"]
[DJOSER]
SEND_ACTIVATION_EMAIL = false
LOGIN_FIELD = "username"
[SIMPLE_JWT]
ACCESS_TOKEN_LIFETIME = "5m"
LEEWAY = 0
"#,
    ))
    .unwrap();
    d
}

#[test]
fn durations() {
    assert_eq!(parse_duration("90s"), Some(90));
    assert_eq!(parse_duration("5m"), Some(300));
    assert_eq!(parse_duration("1h30m"), Some(5_400));
    assert_eq!(parse_duration("14d"), Some(1_209_600));
    assert_eq!(parse_duration("300"), Some(300));
    assert_eq!(parse_duration("5x"), None);
    assert_eq!(parse_duration("m"), None);
    assert_eq!(parse_duration("5m3"), None);
}

#[test]
fn defaults_and_overrides_resolve_with_types() {
    let d = declared();
    let s = d.resolve(None).unwrap();
    assert_eq!(s.bool("DJOSER.SEND_ACTIVATION_EMAIL"), Some(false));
    assert_eq!(s.int("SIMPLE_JWT.ACCESS_TOKEN_LIFETIME"), Some(300));
    let o = table("[DJOSER]\nSEND_ACTIVATION_EMAIL = true\n[SIMPLE_JWT]\nACCESS_TOKEN_LIFETIME = \"1h\"\n");
    let s = d.resolve(Some(&o)).unwrap();
    assert_eq!(s.bool("DJOSER.SEND_ACTIVATION_EMAIL"), Some(true));
    assert_eq!(s.int("SIMPLE_JWT.ACCESS_TOKEN_LIFETIME"), Some(3600));
    let s = d.resolve(Some(&table("[SIMPLE_JWT]\nACCESS_TOKEN_LIFETIME = 60\n"))).unwrap();
    assert_eq!(s.int("SIMPLE_JWT.ACCESS_TOKEN_LIFETIME"), Some(60));
    assert_eq!(s.strings("ALLOWED_HOSTS"), Some(vec!["*".to_owned()]));
}

#[test]
fn unknown_names_and_wrong_types_are_refused_naming_the_key() {
    let d = declared();
    let e = d.resolve(Some(&table("[DJOSER]\nSEND_ACTIVATON_EMAIL = true\n"))).unwrap_err();
    assert_eq!(e.key, "DJOSER.SEND_ACTIVATON_EMAIL");
    assert!(e.message.contains("unknown or unsupported") && e.message.contains("SEND_ACTIVATION_EMAIL"), "{e:?}");
    let e = d.resolve(Some(&table("[DJOSER]\nSEND_ACTIVATION_EMAIL = \"yes\"\n"))).unwrap_err();
    assert!(e.message.contains("boolean"), "{e:?}");
    let e = d.resolve(Some(&table("SECRET = 1\n"))).unwrap_err();
    assert_eq!(e.key, "SECRET");
    let e = d.resolve(Some(&table("[SIMPLE_JWT]\nACCESS_TOKEN_LIFETIME = \"soon\"\n"))).unwrap_err();
    assert!(e.message.contains("duration"), "{e:?}");
    assert!(Declared::default().add(&table("lower = 1\n")).is_err());
}

#[test]
fn references_substitute_typed_negated_and_spliced() {
    let s = declared().resolve(Some(&table("[DJOSER]\nSEND_ACTIVATION_EMAIL = true\n"))).unwrap();
    let mut v: toml::Value = toml::Value::Table(table(
        r#"
a = "${DJOSER.SEND_ACTIVATION_EMAIL}"
b = "!${DJOSER.SEND_ACTIVATION_EMAIL}"
c = "field {x} is ${DJOSER.LOGIN_FIELD}, ttl ${SIMPLE_JWT.ACCESS_TOKEN_LIFETIME}"
d = ["${ALLOWED_HOSTS}"]
e = "plain"
"#,
    ));
    s.substitute(&mut v).unwrap();
    assert_eq!(v["a"].as_bool(), Some(true));
    assert_eq!(v["b"].as_bool(), Some(false));
    assert_eq!(v["c"].as_str(), Some("field {x} is username, ttl 300"));
    assert_eq!(v["d"][0].as_array().map(Vec::len), Some(1));
    assert_eq!(v["e"].as_str(), Some("plain"));
    let mut bad = toml::Value::String("${DJOSER.NOPE}".into());
    assert!(s.substitute(&mut bad).unwrap_err().contains("no such setting"));
}

#[test]
fn optional_references_and_array_elements() {
    let d = declared();
    let plain = d.resolve(None).unwrap();
    let set = d.resolve(Some(&table("[SIMPLE_JWT]\nACCESS_TOKEN_LIFETIME = \"1h\"\n"))).unwrap();
    assert!(!plain.is_overridden("SIMPLE_JWT.ACCESS_TOKEN_LIFETIME"));
    assert!(set.is_overridden("SIMPLE_JWT.ACCESS_TOKEN_LIFETIME"));
    let template = || {
        toml::Value::Table(table(
            "ttl = \"${?SIMPLE_JWT.ACCESS_TOKEN_LIFETIME}\"\nhost = \"${ALLOWED_HOSTS[0]}\"\nfirst = \"x ${ALLOWED_HOSTS[0]}\"\n",
        ))
    };
    let mut v = template();
    plain.substitute(&mut v).unwrap();
    assert!(v.get("ttl").is_none(), "left out when the mount does not set it: {v:?}");
    assert_eq!(v["host"].as_str(), Some("*"));
    assert_eq!(v["first"].as_str(), Some("x *"));
    let mut v = template();
    set.substitute(&mut v).unwrap();
    assert_eq!(v["ttl"].as_integer(), Some(3600));
    let mut bad = toml::Value::Table(table("x = \"${?SIMPLE_JWT.NOPE}\"\n"));
    assert!(plain.substitute(&mut bad).unwrap_err().contains("no such setting"));
    let mut bad = toml::Value::Table(table("x = \"${ALLOWED_HOSTS[3]}\"\n"));
    assert!(plain.substitute(&mut bad).unwrap_err().contains("no element 3"));
    let shown = format!("{plain:?}");
    assert!(!shown.contains("username") && shown.contains("DJOSER.LOGIN_FIELD"), "{shown}");
}
