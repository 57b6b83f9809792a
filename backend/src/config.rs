//! Settings: built-in defaults, overridden by `keel.toml`, overridden by `KEEL_*`
//! environment variables.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The file read when `--config` is not given (and it exists).
pub const DEFAULT_CONFIG_FILE: &str = "keel.toml";

#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    /// Where the HTTP server listens (`KEEL_ADDR`, default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// Where the embedded store and other local state live (`KEEL_DATA_DIR`, default `./keel-data`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…` (`KEEL_DATABASE_URL`); default: a SQLite file in `data_dir`.
    pub database_url: Option<String>,
    /// The Trunk-built console (`KEEL_DIST_DIR`, default `./dist`).
    pub dist_dir: PathBuf,
    /// Mark the session cookie `Secure` (`KEEL_SECURE_COOKIES`; set it behind HTTPS).
    pub secure_cookies: bool,
    /// Password of the `admin` user created on first start (`KEEL_ADMIN_PASSWORD`);
    /// without it a random one is generated and printed once.
    pub admin_password: Option<String>,
    /// Days raw telemetry points, feature rows and labels are kept
    /// (`KEEL_RAW_RETENTION_DAYS`, default 30); the minute and hour rollups that charts
    /// read, references and drift runs are kept regardless.
    pub raw_retention_days: u32,
    /// Seconds between evaluations of every alert rule (`KEEL_ALERT_EVALUATION_SECONDS`,
    /// default 15); new points, health changes and drift runs are evaluated within a second.
    pub alert_evaluation_seconds: u32,
    /// Whether `/metrics` answers without signing in (`KEEL_METRICS_PUBLIC`, default
    /// true); when false, Prometheus scrapes with a `read` token as bearer.
    pub metrics_public: bool,
    /// Seconds a connection may take to send a request head (idle keep-alive
    /// connections too) and a request body between two reads (`KEEL_HTTP_TIMEOUT_SECONDS`,
    /// default 30).
    pub http_timeout_seconds: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("keel-data"),
            database_url: None,
            dist_dir: PathBuf::from("dist"),
            secure_cookies: false,
            admin_password: None,
            raw_retention_days: 30,
            alert_evaluation_seconds: 15,
            metrics_public: true,
            http_timeout_seconds: 30,
        }
    }
}

/// The settings a `keel.toml` may hold; all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    addr: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    dist_dir: Option<PathBuf>,
    secure_cookies: Option<bool>,
    admin_password: Option<String>,
    raw_retention_days: Option<u32>,
    alert_evaluation_seconds: Option<u32>,
    metrics_public: Option<bool>,
    http_timeout_seconds: Option<u32>,
}

impl Settings {
    /// Loads the settings: defaults < the config file < the process environment.
    ///
    /// `config_file` must exist when given; otherwise `keel.toml` is read if present.
    pub fn load(config_file: Option<&Path>) -> anyhow::Result<Self> {
        let file = match config_file {
            Some(path) => Some(read_file(path)?),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => Some(read_file(Path::new(DEFAULT_CONFIG_FILE))?),
            None => None,
        };
        Self::from_sources(file.unwrap_or_default(), |name| std::env::var(name).ok())
    }

    fn from_sources(file: FileSettings, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let defaults = Self::default();
        let addr = match env("KEEL_ADDR") {
            Some(text) => text
                .parse()
                .with_context(|| format!("KEEL_ADDR={text:?} is not a socket address like 127.0.0.1:8080"))?,
            None => file.addr.unwrap_or(defaults.addr),
        };
        Ok(Self {
            addr,
            data_dir: env("KEEL_DATA_DIR").map(PathBuf::from).or(file.data_dir).unwrap_or(defaults.data_dir),
            database_url: env("KEEL_DATABASE_URL").or(file.database_url).filter(|url| !url.is_empty()),
            dist_dir: env("KEEL_DIST_DIR").map(PathBuf::from).or(file.dist_dir).unwrap_or(defaults.dist_dir),
            secure_cookies: match env("KEEL_SECURE_COOKIES") {
                Some(text) => parse_bool("KEEL_SECURE_COOKIES", &text)?,
                None => file.secure_cookies.unwrap_or(defaults.secure_cookies),
            },
            admin_password: env("KEEL_ADMIN_PASSWORD").or(file.admin_password).filter(|password| !password.is_empty()),
            raw_retention_days: match env("KEEL_RAW_RETENTION_DAYS") {
                Some(text) => text.parse().ok().filter(|days| *days > 0).with_context(|| {
                    format!("KEEL_RAW_RETENTION_DAYS={text:?} is not a whole number of days (1 or more)")
                })?,
                None => file.raw_retention_days.unwrap_or(defaults.raw_retention_days),
            },
            alert_evaluation_seconds: match env("KEEL_ALERT_EVALUATION_SECONDS") {
                Some(text) => text.parse().ok().filter(|seconds| *seconds > 0).with_context(|| {
                    format!("KEEL_ALERT_EVALUATION_SECONDS={text:?} is not a whole number of seconds (1 or more)")
                })?,
                None => file.alert_evaluation_seconds.unwrap_or(defaults.alert_evaluation_seconds),
            },
            metrics_public: match env("KEEL_METRICS_PUBLIC") {
                Some(text) => parse_bool("KEEL_METRICS_PUBLIC", &text)?,
                None => file.metrics_public.unwrap_or(defaults.metrics_public),
            },
            http_timeout_seconds: match env("KEEL_HTTP_TIMEOUT_SECONDS") {
                Some(text) => text.parse().ok().filter(|seconds| *seconds > 0).with_context(|| {
                    format!("KEEL_HTTP_TIMEOUT_SECONDS={text:?} is not a whole number of seconds (1 or more)")
                })?,
                None => file.http_timeout_seconds.unwrap_or(defaults.http_timeout_seconds),
            },
        })
    }

    /// The store to use: the configured URL, or the embedded SQLite file in `data_dir`.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("keel.db").display()),
        }
    }
}

fn parse_bool(name: &str, text: &str) -> anyhow::Result<bool> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => anyhow::bail!("{name}={text:?} is not a boolean (true or false)"),
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileSettings> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", path.display()))
}

/// Hides the password of the database URL.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("addr", &self.addr)
            .field("data_dir", &self.data_dir)
            .field("database_url", &self.database_url.as_deref().map(redact_password))
            .field("dist_dir", &self.dist_dir)
            .field("secure_cookies", &self.secure_cookies)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "***"))
            .field("raw_retention_days", &self.raw_retention_days)
            .field("alert_evaluation_seconds", &self.alert_evaluation_seconds)
            .field("metrics_public", &self.metrics_public)
            .field("http_timeout_seconds", &self.http_timeout_seconds)
            .finish()
    }
}

/// `postgres://keel:secret@db/keel` → `postgres://keel:***@db/keel`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_overrides_the_file_which_overrides_defaults() {
        let file: FileSettings = toml::from_str("addr = '0.0.0.0:9000'\ndata_dir = '/var/lib/keel'").expect("toml");
        let env = |name: &str| (name == "KEEL_DATA_DIR").then(|| "/srv/keel".to_owned());
        let settings = Settings::from_sources(file, env).expect("settings");
        assert_eq!(settings.addr, "0.0.0.0:9000".parse().expect("addr"));
        assert_eq!(settings.data_dir, PathBuf::from("/srv/keel"));
        assert_eq!(settings.dist_dir, PathBuf::from("dist"));
        assert_eq!(settings.database_url(), "sqlite:///srv/keel/keel.db?mode=rwc");
    }

    #[test]
    fn a_bad_address_is_reported_by_name() {
        let error = Settings::from_sources(FileSettings::default(), |_| Some("nowhere".into())).expect_err("invalid");
        assert!(error.to_string().contains("KEEL_ADDR"), "{error}");
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        assert!(toml::from_str::<FileSettings>("adr = '1.2.3.4:5'").is_err());
    }

    #[test]
    fn debug_output_hides_passwords() {
        let settings = Settings {
            database_url: Some("postgres://keel:hunter2@db:5432/keel".into()),
            admin_password: Some("swordfish-swordfish".into()),
            ..Settings::default()
        };
        let shown = format!("{settings:?}");
        assert!(shown.contains("postgres://keel:***@db:5432/keel") && !shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("swordfish"), "{shown}");
    }
}
