//! The `keel` command: parses the CLI, loads settings and runs the library.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use keel_backend::Application;
use keel_backend::auth::{passwords, secrets};
use keel_backend::config::Settings;
use keel_backend::dataset_drift::{Comparison, Dataset, compare, render};
use keel_backend::store::Store;
use keel_backend::store::audit::Actor;
use keel_backend::store::identity::NewUser;
use keel_shared::alerting::IntegrationKind;
use keel_shared::auth::{CreateTokenRequest, CreateUserRequest, Role, TokenScope};
use keel_shared::drift::DriftMethod;
use tracing_subscriber::EnvFilter;

/// Ingest allocates many small values on both cores; glibc's allocator spent a third of
/// the load test's CPU time in contention (docs/benchmarks.md), mimalloc far less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Keel — governance and observability for machine-learning models in production.
///
/// Settings come from built-in defaults, then `keel.toml` (or --config), then the
/// environment: KEEL_ADDR, KEEL_DATA_DIR, KEEL_DATABASE_URL, KEEL_DIST_DIR,
/// KEEL_SECURE_COOKIES, KEEL_ADMIN_PASSWORD.
#[derive(Debug, Parser)]
#[command(name = "keel", version)]
struct Cli {
    /// Read settings from this TOML file instead of ./keel.toml.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API and the console (creates the store's schema on first start).
    Serve,
    /// Like `serve`, with a realistic demo fleet and one user per role loaded first.
    Demo,
    /// Create or upgrade the store's schema, then exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens for machines.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage keys of inbound alert senders (Alertmanager, PagerDuty Events v2).
    Integration {
        #[command(subcommand)]
        command: IntegrationCommand,
    },
    /// Compare two CSV datasets (header row first) column by column, as Evidently's
    /// DataDriftPreset does, and print a table (or --json). Needs no server or store.
    Drift(DriftArgs),
}

#[derive(Debug, clap::Args)]
struct DriftArgs {
    /// The data the model was validated on.
    #[arg(long, value_name = "CSV")]
    reference: PathBuf,
    /// The data seen now.
    #[arg(long, value_name = "CSV")]
    current: PathBuf,
    /// Comma-separated columns to compare (default: every column both files have).
    #[arg(long, value_delimiter = ',')]
    columns: Option<Vec<String>>,
    /// Comma-separated methods for every column (default: Evidently's choice per column):
    /// ks, psi, wasserstein, jensen_shannon, kl_divergence, hellinger, chi_square, z.
    #[arg(long, value_delimiter = ',', value_parser = parse_method)]
    methods: Option<Vec<DriftMethod>>,
    /// Comma-separated columns to compare as categories, whatever their values look like.
    #[arg(long, value_delimiter = ',')]
    categorical: Vec<String>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user. The password is read from KEEL_NEW_PASSWORD, or else from the first
    /// line of standard input (never from the command line, where `ps` would show it).
    Add {
        username: String,
        /// viewer, engineer, approver or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Name shown in the console (default: the username).
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print it (it is shown only this once).
    Create {
        /// What the token is for, e.g. fraud-model-server.
        #[arg(long)]
        name: String,
        /// Comma-separated: ingest, read, evidence.
        #[arg(long, value_delimiter = ',', value_parser = parse_scope, required = true)]
        scope: Vec<TokenScope>,
        /// The user the token acts as.
        #[arg(long)]
        owner: String,
    },
}

#[derive(Debug, Subcommand)]
enum IntegrationCommand {
    /// Create an integration key and print it (it is shown only this once).
    Create {
        /// alertmanager or pagerduty.
        #[arg(long, value_parser = parse_integration_kind)]
        kind: IntegrationKind,
        /// What sends with it, e.g. prod-alertmanager.
        #[arg(long)]
        name: String,
        /// The model its events are about (default: the model each event names).
        #[arg(long)]
        model: Option<String>,
    },
}

fn parse_integration_kind(text: &str) -> Result<IntegrationKind, String> {
    text.parse().map_err(|error: keel_shared::models::UnknownVariant| error.to_string())
}

fn parse_role(text: &str) -> Result<Role, String> {
    text.parse().map_err(|error: keel_shared::models::UnknownVariant| error.to_string())
}

fn parse_method(text: &str) -> Result<DriftMethod, String> {
    text.parse().map_err(|error: keel_shared::models::UnknownVariant| error.to_string())
}

fn parse_scope(text: &str) -> Result<TokenScope, String> {
    text.parse().map_err(|error: keel_shared::models::UnknownVariant| error.to_string())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_env("KEEL_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")))
        .with_writer(std::io::stderr)
        .init();
    // `keel drift` needs no settings: a broken keel.toml must not stop it.
    let settings = || -> anyhow::Result<Settings> {
        let settings = Settings::load(cli.config.as_deref())?;
        tracing::info!(?settings, "settings loaded");
        Ok(settings)
    };
    match cli.command {
        Command::Serve => serve(settings()?, false).await,
        Command::Demo => {
            let mut settings = settings()?;
            settings.admin_password.get_or_insert_with(|| keel_backend::demo::demo_admin_password().to_owned());
            serve(settings, true).await
        }
        Command::Migrate => {
            let store = migrated_store(&settings()?).await?;
            println!("The {} store is up to date.", store.dialect().as_str());
            Ok(())
        }
        Command::User { command: UserCommand::Add { username, role, display_name } } => {
            let password = match std::env::var("KEEL_NEW_PASSWORD") {
                Ok(password) => password,
                Err(_) => {
                    eprintln!("Password for {username} (one line on standard input):");
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let request = CreateUserRequest {
                username,
                display_name: display_name.unwrap_or_default(),
                role: Some(role),
                password,
            };
            let input = request.validate().map_err(|errors| {
                let list: Vec<String> = errors.iter().map(|(field, message)| format!("{field} {message}")).collect();
                anyhow::anyhow!("invalid user: {}", list.join("; "))
            })?;
            let store = migrated_store(&settings()?).await?;
            let user = NewUser {
                username: input.username,
                display_name: input.display_name,
                role: input.role,
                password_hash: passwords::hash_password(&input.password)?,
            };
            let created = store.create_user(&user, &Actor::system()).await?;
            println!("Added {} ({}).", created.username, created.role);
            Ok(())
        }
        Command::Drift(args) => drift(&args),
        Command::Integration { command: IntegrationCommand::Create { kind, name, model } } => {
            let name = name.trim().to_owned();
            anyhow::ensure!(!name.is_empty() && name.chars().count() <= 100, "--name must be 1 to 100 characters");
            let store = migrated_store(&settings()?).await?;
            let model = match model {
                Some(reference) => {
                    let found = store.resolve_models([reference.as_str()]).await?;
                    let id = found.get(&reference).with_context(|| format!("no model named '{reference}'"))?;
                    Some(keel_shared::ModelId(id.clone()))
                }
                None => None,
            };
            let key = secrets::new_integration_key();
            store
                .create_integration(&name, kind, model.as_ref(), &secrets::secret_hash(&key), &Actor::system())
                .await?;
            println!("{key}");
            eprintln!(
                "{}",
                match kind {
                    IntegrationKind::Alertmanager =>
                        "Store this key now: it is not shown again. Alertmanager sends it as http_config.authorization credentials to /api/integrations/alertmanager.",
                    IntegrationKind::PagerDuty =>
                        "Store this key now: it is not shown again. PagerDuty Events v2 clients send it as routing_key to /v2/enqueue.",
                }
            );
            Ok(())
        }
        Command::Token { command: TokenCommand::Create { name, scope, owner } } => {
            let input =
                CreateTokenRequest { name, scopes: scope, owner: Some(owner) }.validate().map_err(|errors| {
                    let list: Vec<String> =
                        errors.iter().map(|(field, message)| format!("{field} {message}")).collect();
                    anyhow::anyhow!("invalid token: {}", list.join("; "))
                })?;
            let store = migrated_store(&settings()?).await?;
            let owner_name = input.owner.unwrap_or_default();
            let owner = store
                .user_by_username(&owner_name)
                .await?
                .with_context(|| format!("no user named '{owner_name}'"))?
                .user;
            let token = secrets::new_api_token();
            let prefix = &token[..secrets::DISPLAY_PREFIX_LEN];
            store
                .create_token(
                    &owner,
                    &input.name,
                    &input.scopes,
                    &secrets::secret_hash(&token),
                    prefix,
                    &Actor::system(),
                )
                .await?;
            println!("{token}");
            eprintln!("Store this token now: it is not shown again. Send it as `Authorization: Bearer <token>`.");
            Ok(())
        }
    }
}

/// `keel drift`: a table (or JSON) on standard output, a progress bar on a terminal's
/// standard error.
fn drift(args: &DriftArgs) -> anyhow::Result<()> {
    let read = |path: &PathBuf| -> anyhow::Result<Dataset> {
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Dataset::from_csv(std::io::BufReader::new(file)).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))
    };
    let (reference, current) = (read(&args.reference)?, read(&args.current)?);
    let comparison = Comparison {
        columns: args.columns.clone(),
        methods: args.methods.clone(),
        categorical: args.categorical.clone(),
    };
    let progress = indicatif::ProgressBar::new(0);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} columns  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = compare(&reference, &current, &comparison, |column, columns| {
        progress.set_length(columns as u64);
        progress.inc(1);
        progress.set_message(column.to_owned());
    });
    progress.finish_and_clear();
    let report = report.map_err(anyhow::Error::msg)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

async fn migrated_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database_url()).await?;
    store.migrate().await?;
    Ok(store)
}

async fn serve(settings: Settings, with_demo_data: bool) -> anyhow::Result<()> {
    let application = Application::build(settings).await?;
    if with_demo_data {
        let added = keel_backend::demo::load_demo_fleet(application.store()).await?;
        keel_backend::demo::load_demo_users(application.store()).await?;
        tracing::info!(added, "demo fleet loaded");
        keel_backend::demo::backfill_telemetry(application.store(), &application.ingest_writer()).await?;
        keel_backend::demo::monitoring::backfill(application.store()).await?;
        keel_backend::demo::incidents::load(application.store()).await?;
        keel_backend::demo::changes::load(application.store()).await?;
        keel_backend::demo::business::load(application.store()).await?;
        application.evaluate_health().await?;
        let simulator = keel_backend::demo::run_simulator(application.store().clone(), application.ingest_writer());
        let feature_rows = keel_backend::demo::monitoring::run(application.store().clone());
        tokio::spawn(async move {
            if let Err(error) = tokio::try_join!(simulator, feature_rows) {
                tracing::error!(%error, "the demo simulator stopped");
            }
        });
        println!("Demo users (username / password):");
        for (username, _, role, password) in keel_backend::demo::DEMO_USERS {
            println!("  {role:<9} {username:<14} {password}");
        }
    }
    if let Some(path) = application.setup_path() {
        println!(
            "No administrator yet. Open http://{}{path} to choose the password of '{}' (the link works once; \
             or set KEEL_ADMIN_PASSWORD before starting).",
            application.local_addr(),
            keel_backend::FIRST_ADMIN
        );
    }
    // Printed (not logged) so scripts and people find it; tests read it to learn the port.
    println!("Keel console: http://{}/", application.local_addr());
    application.run_until_stopped().await
}
