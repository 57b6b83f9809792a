//! The typed API client: the only place that builds URLs. Every non-2xx answer is
//! decoded into the server's `ErrorBody`; a failure to reach the server becomes one too.

use gloo_net::http::{Request, Response};
use keel_shared::models::{
    CreateModelRequest, CreateVersionRequest, ModelListQuery, ModelListResponse, ModelResponse, ModelSummary,
    VersionSummary,
};
use keel_shared::{ErrorBody, ModelId};
use serde::de::DeserializeOwned;

pub type ApiResult<T> = Result<T, ErrorBody>;

pub async fn list_models(query: &ModelListQuery) -> ApiResult<ModelListResponse> {
    let query = serde_urlencoded::to_string(query).map_err(|error| client_error(&error.to_string()))?;
    receive(Request::get(&format!("/api/models?{query}")).send().await).await
}

pub async fn get_model(id: &ModelId) -> ApiResult<ModelResponse> {
    receive(Request::get(&format!("/api/models/{}", encode(&id.0))).send().await).await
}

pub async fn create_model(request: &CreateModelRequest) -> ApiResult<ModelSummary> {
    let request = Request::post("/api/models").json(request).map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn create_version(model: &ModelId, request: &CreateVersionRequest) -> ApiResult<VersionSummary> {
    let request = Request::post(&format!("/api/models/{}/versions", encode(&model.0)))
        .json(request)
        .map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

async fn receive<T: DeserializeOwned>(sent: Result<Response, gloo_net::Error>) -> ApiResult<T> {
    let response = sent.map_err(|error| ErrorBody {
        kind: "/problems/network".into(),
        title: "Server unreachable".into(),
        status: 0,
        detail: format!("Keel's server did not answer ({error}). Check that it is running, then try again."),
        fields: Default::default(),
    })?;
    if response.ok() {
        return response.json::<T>().await.map_err(|error| client_error(&error.to_string()));
    }
    let status = response.status();
    Err(response.json::<ErrorBody>().await.unwrap_or_else(|_| ErrorBody {
        kind: "about:blank".into(),
        title: response.status_text(),
        status,
        detail: format!("the server answered {status} {}", response.status_text()),
        fields: Default::default(),
    }))
}

fn client_error(detail: &str) -> ErrorBody {
    ErrorBody {
        kind: "/problems/client".into(),
        title: "Unexpected answer".into(),
        status: 0,
        detail: format!("the console could not read the server's answer: {detail}"),
        fields: Default::default(),
    }
}

/// Percent-encodes a path segment.
fn encode(segment: &str) -> String {
    serde_urlencoded::to_string([("", segment)]).map(|pair| pair[1..].to_owned()).unwrap_or_default()
}
