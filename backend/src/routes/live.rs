//! `GET /api/live`: the live event stream (Server-Sent Events).
//!
//! A client resumes with the standard `Last-Event-ID` header (browsers send it when they
//! reconnect on their own) or, when it opens a new `EventSource` after a failure, the
//! `last_event_id` query parameter. The compression layer leaves `text/event-stream`
//! alone, and `X-Accel-Buffering: no` asks reverse proxies not to buffer either.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use keel_shared::auth::Permission;
use keel_shared::live::LiveEvent;
use serde::Deserialize;

use super::Api;
use crate::AppState;
use crate::auth::Access;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::live::{Delivery, StampedEvent};

pub fn routes(api: Api) -> Api {
    api.route(Method::GET, "/api/live", Access::Permission(Permission::ReadModels), live)
}

/// Comment lines keep idle connections (and proxies) from timing out.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize)]
struct LiveQuery {
    last_event_id: Option<i64>,
}

async fn live(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(query): ApiQuery<LiveQuery>,
) -> ApiResult<Response> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse().ok())
        .or(query.last_event_id);
    let subscription = state.live.subscribe(last_event_id).await?;
    let events = stream::unfold(subscription, |mut subscription| async move {
        let event = match subscription.next().await? {
            Delivery::Event(event) => to_sse(&event),
            Delivery::Resync => resync(),
        };
        Some((Ok::<_, Infallible>(event), subscription))
    });
    let mut response = Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response();
    response.headers_mut().insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

fn to_sse(event: &Arc<StampedEvent>) -> Event {
    Event::default().id(event.id.to_string()).event(&event.kind).data(&event.json)
}

/// Sent without an id, so the client's Last-Event-ID stays that of the last real event.
fn resync() -> Event {
    let event = LiveEvent::Resync;
    Event::default().event(event.kind()).data(serde_json::to_string(&event).unwrap_or_default())
}
