//! The `keel` command: parses the CLI, loads settings and runs the library.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use keel_backend::Application;
use keel_backend::config::Settings;
use keel_backend::store::Store;
use tracing_subscriber::EnvFilter;

/// Keel — governance and observability for machine-learning models in production.
///
/// Settings come from built-in defaults, then `keel.toml` (or --config), then the
/// environment: KEEL_ADDR, KEEL_DATA_DIR, KEEL_DATABASE_URL, KEEL_DIST_DIR.
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
    /// Like `serve`, with a realistic demo fleet of models loaded first.
    Demo,
    /// Create or upgrade the store's schema, then exit.
    Migrate,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("KEEL_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .init();
    let settings = Settings::load(cli.config.as_deref())?;
    tracing::info!(?settings, "settings loaded");
    match cli.command {
        Command::Serve => serve(settings, false).await,
        Command::Demo => serve(settings, true).await,
        Command::Migrate => {
            let store = Store::connect(&settings.database_url()).await?;
            store.migrate().await?;
            println!("The {} store is up to date.", store.dialect().as_str());
            Ok(())
        }
    }
}

async fn serve(settings: Settings, with_demo_fleet: bool) -> anyhow::Result<()> {
    let application = Application::build(settings).await?;
    if with_demo_fleet {
        let added = keel_backend::demo::load_demo_fleet(application.store()).await?;
        tracing::info!(added, "demo fleet loaded");
    }
    // Printed (not logged) so scripts and people find it; tests read it to learn the port.
    println!("Keel console: http://{}/", application.local_addr());
    application.run_until_stopped().await
}
