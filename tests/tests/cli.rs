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
    for command in ["serve", "demo", "migrate", "user", "token", "drift"] {
        assert!(text.contains(command), "--help lacks {command}:\n{text}");
    }
    let wrong = keel(&data, &["token", "create", "--name", "x", "--scope", "write", "--owner", "admin"], &[])?;
    assert!(!wrong.status.success());
    assert!(String::from_utf8(wrong.stderr)?.contains("'write' is not one of: ingest, read, evidence"));
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

#[test]
fn drift_compares_two_csv_files_column_by_column() -> anyhow::Result<()> {
    let data = Scratch::new("keel-cli")?;
    // `score` moves by a third of its range; `segment` keeps its shares; `region` only
    // exists in the reference.
    let rows = |shift: f64| -> String {
        let body: String = (0..300)
            .map(|i| format!("{},{},{}\n", f64::from(i) / 300.0 + shift, ["a", "b", "c"][i as usize % 3], i % 4))
            .collect();
        body
    };
    let (reference, current) = (data.path().join("reference.csv"), data.path().join("current.csv"));
    std::fs::write(&reference, format!("score,segment,region\n{}", rows(0.0)))?;
    std::fs::write(&current, format!("score,segment,zone\n{}", rows(0.3)))?;
    let (reference, current) = (reference.to_str().expect("utf-8"), current.to_str().expect("utf-8"));

    let table = keel(&data, &["drift", "--reference", reference, "--current", current], &[])?;
    assert!(table.status.success(), "{}", String::from_utf8_lossy(&table.stderr));
    let text = String::from_utf8(table.stdout)?;
    let line = |column: &str| text.lines().find(|line| line.starts_with(column)).unwrap_or_default().to_owned();
    assert!(
        line("score").contains("numeric") && line("score").contains(" ks ") && line("score").ends_with("DRIFT"),
        "{text}"
    );
    assert!(
        line("segment").contains("categorical")
            && line("segment").contains("chi_square")
            && line("segment").ends_with('-'),
        "{text}"
    );
    assert!(text.contains("Only in the reference dataset (not compared): region"), "{text}");
    assert!(text.contains("Dataset drift: 1 of 2 columns drifted (50 %) — DRIFT"), "{text}");

    let json = keel(
        &data,
        &[
            "drift",
            "--reference",
            reference,
            "--current",
            current,
            "--columns",
            "segment",
            "--methods",
            "psi,jensen_shannon",
            "--json",
        ],
        &[],
    )?;
    assert!(json.status.success(), "{}", String::from_utf8_lossy(&json.stderr));
    let report: keel_shared::drift::DatasetDriftReport = serde_json::from_slice(&json.stdout)?;
    assert_eq!((report.compared_columns, report.drifted_columns, report.drifted), (1, 0, false));
    let segment = report.columns[0].report.as_ref().expect("segment compared");
    assert_eq!(
        segment.results.iter().map(|result| result.method.name()).collect::<Vec<_>>(),
        ["psi", "jensen_shannon"]
    );
    assert!(segment.results.iter().all(|result| result.value.abs() < 1e-12), "same shares: {segment:?}");

    let unknown = keel(&data, &["drift", "--reference", reference, "--current", current, "--methods", "t-test"], &[])?;
    assert!(!unknown.status.success());
    assert!(String::from_utf8(unknown.stderr)?.contains("'t-test' is not one of: ks, psi"));
    let missing = keel(&data, &["drift", "--reference", "/nonexistent.csv", "--current", current], &[])?;
    assert!(!missing.status.success());
    assert!(String::from_utf8(missing.stderr)?.contains("cannot open /nonexistent.csv"));
    Ok(())
}
