//! Empty or short secrets are refused at load (exit 64), from the file and
//! from the environment, and the message names the key but never the value.

use std::process::Command;

fn check_config(config: &std::path::Path, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_polyauth"));
    cmd.args(["check-config", "--config"]).arg(config);
    for var in ["POLYAUTH_STORE__URL", "POLYAUTH_ADMIN__TOKEN", "POLYAUTH_JWT__SIGNING_KEY"] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run polyauth");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Config text, environment, the expected message.
type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn empty_or_short_secrets_exit_64() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gateway.toml");
    let cases: &[Case<'_>] = &[
        ("[admin]\ntoken = \"\"\n", &[], "admin.token is empty"),
        ("[admin]\ntoken = \"short-secret-15\"\n", &[], "admin.token is 15 bytes"),
        ("", &[("POLYAUTH_ADMIN__TOKEN", "")], "admin.token is empty"),
        ("[jwt]\nsigning_key = \"\"\n", &[], "jwt.signing_key is empty"),
        ("[jwt]\nsigning_key = \"0123456789abcdef0123456789abcde\"\n", &[], "jwt.signing_key is 31 bytes"),
    ];
    for (text, env, why) in cases {
        std::fs::write(&config, text).unwrap();
        let (code, stderr) = check_config(&config, env);
        assert_eq!(code, 64, "{why}: {stderr}");
        assert!(stderr.contains(why), "{why}: {stderr}");
        assert!(!stderr.contains("short-secret-15"), "the value is never printed: {stderr}");
    }
    // The shortest accepted admin token.
    std::fs::write(&config, "[admin]\ntoken = \"0123456789abcdef\"\n").unwrap();
    let (code, stderr) = check_config(&config, &[]);
    assert_eq!(code, 0, "{stderr}");
}
