//! The black-box test harness: the real `keel` binary on a free port with a fresh
//! store and the real Trunk-built console, and Debian's Chromium driven through
//! chromedriver.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::{Client, ClientBuilder, Locator};

/// The repository root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_owned()
}

/// A directory of its own for one test, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(prefix: &str) -> anyhow::Result<Self> {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first administrator's password in these tests (`keel demo` uses its own; see `demo.rs`).
pub const ADMIN_PASSWORD: &str = "e2e-admin-password";

/// A running `keel` process, stopped when dropped.
pub struct Keel {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    /// The one-time setup link keel printed, if the store had no administrator.
    pub setup_url: Option<String>,
    /// The store's directory, when this process owns it.
    data: Option<Scratch>,
}

impl Keel {
    /// Starts `keel <command>` (`serve` or `demo`) on a free port with a fresh SQLite
    /// store, serving the console from the workspace's `dist/`.
    pub fn start(command: &str) -> anyhow::Result<Self> {
        Self::start_with_admin_password(command, ADMIN_PASSWORD)
    }

    /// Like `start`; an empty `admin_password` leaves the store without an administrator,
    /// so keel prints a one-time setup link (`setup_url`).
    pub fn start_with_admin_password(command: &str, admin_password: &str) -> anyhow::Result<Self> {
        let data = Scratch::new("keel-e2e-data")?;
        let mut keel = Self::spawn(data.path(), command, admin_password)?;
        keel.data = Some(data);
        Ok(keel)
    }

    /// Starts `keel <command>` on a store that already exists in `data` (kept after stop).
    pub fn start_in(data: &Scratch, command: &str) -> anyhow::Result<Self> {
        Self::spawn(data.path(), command, ADMIN_PASSWORD)
    }

    /// Starts `keel serve` on the PostgreSQL database at `database_url`, as one of several
    /// replicas sharing it.
    pub fn start_replica(database_url: &str) -> anyhow::Result<Self> {
        let data = Scratch::new("keel-e2e-replica")?;
        let mut keel = Self::spawn_with(data.path(), "serve", ADMIN_PASSWORD, Some(database_url))?;
        keel.data = Some(data);
        Ok(keel)
    }

    /// Ends the process at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    fn spawn(data_dir: &Path, command: &str, admin_password: &str) -> anyhow::Result<Self> {
        Self::spawn_with(data_dir, command, admin_password, None)
    }

    fn spawn_with(
        data_dir: &Path,
        command_name: &str,
        admin_password: &str,
        database_url: Option<&str>,
    ) -> anyhow::Result<Self> {
        let dist = workspace_root().join("dist");
        if !dist.join("index.html").exists() {
            bail!("{} has no built console: run `trunk build --release` first", dist.display());
        }
        let binary = keel_binary()?;
        let mut command = Command::new(&binary);
        command
            .arg(command_name)
            .env("KEEL_ADDR", "127.0.0.1:0")
            .env("KEEL_DATA_DIR", data_dir)
            .env("KEEL_DIST_DIR", &dist)
            .env("KEEL_ADMIN_PASSWORD", admin_password);
        match database_url {
            Some(url) => command.env("KEEL_DATABASE_URL", url),
            None => command.env_remove("KEEL_DATABASE_URL"),
        };
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stdout = child.stdout.take().context("keel's stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let mut setup_url = None;
        let base_url = loop {
            let Some(line) = lines.next() else {
                let status = child.wait()?;
                bail!("keel exited ({status}) before printing its URL");
            };
            let line = line?;
            if let Some(url) = line.strip_prefix("Keel console: ") {
                break url.trim_end_matches('/').to_owned();
            }
            if let Some(rest) = line.strip_prefix("No administrator yet. Open ") {
                setup_url = rest.split_whitespace().next().map(str::to_owned);
            }
        };
        // Keep draining stdout so keel never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self { child, base_url, setup_url, data: None })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for Keel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A new, empty database on the PostgreSQL server at `KEEL_TEST_POSTGRES_URL` (default
/// the local one), made with `createdb`; returns its URL.
pub fn create_postgres_database() -> anyhow::Result<String> {
    let admin = std::env::var("KEEL_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_nanos();
    let name = format!("keel_e2e_{}_{nanos}", std::process::id());
    let created = Command::new("psql").arg(&admin).arg("-qc").arg(format!("CREATE DATABASE {name}")).output()?;
    if !created.status.success() {
        bail!("cannot create a PostgreSQL database: {}", String::from_utf8_lossy(&created.stderr));
    }
    let (base, _) = admin.rsplit_once('/').context("the PostgreSQL URL has no database")?;
    Ok(format!("{base}/{name}"))
}

/// `KEEL_BIN`, or the `keel` built next to this test binary (`target/<profile>/keel`).
pub fn keel_binary() -> anyhow::Result<PathBuf> {
    if let Some(path) = std::env::var_os("KEEL_BIN") {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .ancestors()
        .find(|dir| dir.join("keel").is_file())
        .context("no `keel` binary next to the tests: run `cargo build -p keel-backend` first")?;
    Ok(profile_dir.join("keel"))
}

/// Headless Chromium behind its own chromedriver, both stopped when dropped.
/// chromedriver's `POST /session/{id}/chromium/network_conditions`.
#[derive(Debug)]
struct NetworkConditions {
    upload_throughput: u32,
}

impl fantoccini::wd::WebDriverCompatibleCommand for NetworkConditions {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/chromium/network_conditions", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let conditions = serde_json::json!({ "network_conditions": {
            "offline": false, "latency": 0, "download_throughput": 100_000_000, "upload_throughput": self.upload_throughput,
        } });
        (http::Method::POST, Some(conditions.to_string()))
    }
}

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: Scratch,
}

impl Browser {
    pub async fn start() -> anyhow::Result<Self> {
        let profile = Scratch::new("keel-e2e-chromium")?;
        let port = free_port()?;
        let driver = Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into()))
            .arg(format!("--port={port}"))
            // Chromium writes under ~/.config and ~/.cache even with --user-data-dir.
            .env("XDG_CONFIG_HOME", profile.path())
            .env("XDG_CACHE_HOME", profile.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("cannot start chromedriver (scripts/setup installs it)")?;
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1366,900",
                    format!("--user-data-dir={}", profile.path().join("profile").display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        let client = loop {
            match ClientBuilder::rustls()?.capabilities(capabilities.clone()).connect(&url).await {
                Ok(client) => break client,
                // chromedriver is still starting: try again shortly.
                Err(_) if started.elapsed() < Duration::from_secs(20) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => return Err(error).context("chromedriver did not start a session"),
            }
        };
        Ok(Self { client, driver, _profile: profile })
    }

    /// Waits (up to 15 s) for an element matching `css`.
    pub async fn wait_for(&self, css: &str) -> anyhow::Result<fantoccini::elements::Element> {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .with_context(|| format!("no element matches {css:?}"))
    }

    /// Waits (up to 15 s) until an element matching `css` has exactly this text.
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        let mut seen = Vec::new();
        while started.elapsed() < Duration::from_secs(15) {
            seen.clear();
            for element in self.client.find_all(Locator::Css(css)).await? {
                seen.push(element.text().await.unwrap_or_default());
            }
            if seen.iter().any(|text| text.trim() == expected) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no {css:?} shows {expected:?}; saw {seen:?}")
    }

    /// Opens `url` and signs in through the console's login form.
    pub async fn sign_in(&self, url: &str, username: &str, password: &str) -> anyhow::Result<()> {
        self.client.goto(url).await?;
        self.wait_for("#login-username").await?.send_keys(username).await?;
        self.client.find(Locator::Css("#login-password")).await?.send_keys(password).await?;
        self.client.find(Locator::Css("button[type=submit]")).await?.click().await?;
        self.wait_for(".user-menu").await?;
        Ok(())
    }

    /// Waits (up to 15 s) until no element matches `css`.
    pub async fn wait_for_gone(&self, css: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(15) {
            if self.client.find_all(Locator::Css(css)).await?.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{css:?} is still shown")
    }

    /// Limits the page's upload bandwidth to `bytes_per_second` (chromedriver's
    /// network conditions), so a test can watch an upload in progress.
    pub async fn throttle_uploads(&self, bytes_per_second: u32) -> anyhow::Result<()> {
        self.client.issue_cmd(NetworkConditions { upload_throughput: bytes_per_second }).await?;
        Ok(())
    }

    /// Runs `fetch(path, {method, body})` from the signed-in page (its session, its
    /// `Origin`) with `body` as JSON (`null`: none) and returns the JSON answer.
    pub async fn fetch_json(
        &self,
        method: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        self.fetch(
            method,
            path,
            "application/json",
            &serde_json::json!(if body.is_null() { None } else { Some(body.to_string()) }),
        )
        .await
    }

    /// Runs `fetch(path, {method, body})` from the signed-in page with a text `body` of
    /// `content_type` and returns the JSON answer.
    pub async fn fetch_text(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> anyhow::Result<serde_json::Value> {
        self.fetch(method, path, content_type, &serde_json::json!(body)).await
    }

    async fn fetch(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let answer = self
            .client
            .execute_async(
                r#"const [method, path, type, body, done] = arguments;
                   fetch(path, { method, headers: { 'Content-Type': type }, body: body === null ? undefined : body })
                     .then(response => response.json()).then(done);"#,
                vec![serde_json::json!(method), serde_json::json!(path), serde_json::json!(content_type), body.clone()],
            )
            .await?;
        Ok(answer)
    }

    /// Ends the browser session; chromedriver stops on drop.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client.clone().close().await?;
        Ok(())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
