//! The `keel` command line as an operator uses it.

use std::process::{Command, Output};

use keel_e2e::{Keel, Scratch, keel_binary};

fn keel(data: &Scratch, args: &[&str], envs: &[(&str, &str)]) -> anyhow::Result<Output> {
    let mut command = Command::new(keel_binary()?);
    command.args(args).env("KEEL_DATA_DIR", data.path()).env_remove("KEEL_DATABASE_URL").env("KEEL_LOG", "warn");
    for (name, value) in envs {
        command.env(name, value);
    }
    Ok(command.output()?)
}

#[test]
fn help_lists_every_command() -> anyhow::Result<()> {
    let data = Scratch::new("keel-cli")?;
    let help = keel(&data, &["--help"], &[])?;
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout)?;
    for command in ["serve", "demo", "migrate", "user", "token"] {
        assert!(text.contains(command), "--help lacks {command}:\n{text}");
    }
    let wrong = keel(&data, &["token", "create", "--name", "x", "--scope", "write", "--owner", "admin"], &[])?;
    assert!(!wrong.status.success());
    assert!(String::from_utf8(wrong.stderr)?.contains("'write' is not one of: ingest, read"));
    Ok(())
}

#[tokio::test]
async fn a_user_and_a_token_made_on_the_command_line_work_against_the_server() -> anyhow::Result<()> {
    let data = Scratch::new("keel-cli")?;
    let added =
        keel(&data, &["user", "add", "svc-fraud", "--role", "engineer"], &[("KEEL_NEW_PASSWORD", "a-long-password")])?;
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    assert_eq!(String::from_utf8(added.stdout)?.trim(), "Added svc-fraud (engineer).");
    let short = keel(&data, &["user", "add", "bob", "--role", "viewer"], &[("KEEL_NEW_PASSWORD", "short")])?;
    assert!(String::from_utf8(short.stderr)?.contains("password must be at least 12 characters"));

    let created =
        keel(&data, &["token", "create", "--name", "fraud-server", "--scope", "read", "--owner", "svc-fraud"], &[])?;
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let token = String::from_utf8(created.stdout)?.trim().to_owned();
    assert!(token.starts_with("keel_"), "{token}");

    let server = Keel::start_in(&data, "serve")?;
    let client = reqwest::Client::new();
    let me = client.get(server.url("/api/auth/me")).bearer_auth(&token).send().await?;
    assert_eq!(me.status(), 200);
    let me: serde_json::Value = me.json().await?;
    assert_eq!((me["user"]["username"].as_str(), me["user"]["role"].as_str()), (Some("svc-fraud"), Some("engineer")));
    let write = client
        .post(server.url("/api/models"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "name": "m", "owner": "o", "use_case": "u", "risk_tier": "minimal" }))
        .send()
        .await?;
    assert_eq!(write.status(), 403, "a read token cannot write, even for an engineer");
    Ok(())
}
