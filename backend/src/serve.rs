//! Keel's accept loop, where `axum::serve` has no limits: a connection that does not
//! send a whole request head within the HTTP timeout (idle keep-alive connections too)
//! is closed, a request body that sends nothing for that long fails, and at most
//! `MAX_CONNECTIONS` are open at once (beyond that, new ones wait in the listen backlog).
//! On shutdown it stops accepting and lets each connection finish its request.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tower::ServiceExt;

/// Open connections at most (the process may hold 20,000 files; the store, the data
/// directory and the listener need some).
pub const MAX_CONNECTIONS: usize = 10_000;

/// How long connections get to finish their requests once shutdown begins (an open
/// live stream would otherwise hold it forever).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Serves `router` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    http_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(http_timeout));
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    // Dropped to tell connections to finish; each holds a receiver until it is done.
    let (stop, stopped) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait instead of spinning.
                Err(error) => {
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(move |request: axum::http::Request<Incoming>| {
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo::<SocketAddr>(remote));
            request
        });
        let mut stopped = stopped.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            builder.http1().timer(TokioTimer::new()).header_read_timeout(http_timeout);
            builder.http2().timer(TokioTimer::new()).keep_alive_interval(http_timeout);
            let service = TowerToHyperService::new(service.map_err(|never: Infallible| match never {}));
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopped.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
                }
            }
            drop(permit);
            drop(stopped);
        });
    }
    drop(stop);
    // Every permit back: every connection finished (each gives up within the grace).
    let _ = tokio::time::timeout(SHUTDOWN_GRACE * 2, permits.acquire_many(MAX_CONNECTIONS as u32)).await;
    Ok(())
}
