//! The typed API client: the only place that builds URLs. Every non-2xx answer is
//! decoded into the server's `ErrorBody`; a failure to reach the server becomes one too.

use gloo_net::http::{Request, Response};
use keel_shared::alerting::{
    AlertHistoryEntry, AlertRule, AlertRuleSpec, CreateIntegrationRequest, CreatedIntegration, Integration,
    RulePreview, Runbook, RunbookSpec, Silence, SilenceSpec,
};
use keel_shared::audit::{AuditListResponse, AuditQuery, AuditVerifyResponse};
use keel_shared::auth::{
    ChangePasswordRequest, CreateTokenRequest, CreateUserRequest, CreatedTokenResponse, LoginRequest, MeResponse,
    SetupRequest, TokenSummary, UserSummary,
};
use keel_shared::changes::{
    ApprovalRequest, ChangeDetail, ChangeListResponse, ChangeQuery, ChangeStatus, ChangeTransitionRequest,
    CreateChangeRequest, ObservedDeployment, UpdateChangeRequest,
};
use keel_shared::evidence::{
    FairnessQuery, FairnessReview, ModelCard, ModelCardResponse, ReadinessAssessment, ReadinessRequest, SignOffRequest,
};
use keel_shared::health::{FleetResponse, HealthThresholds, ModelHealth, Sparkline};
use keel_shared::incidents::{
    CommentRequest, CreateIncidentRequest, IncidentDetail, IncidentListResponse, IncidentQuery, IncidentStats,
    IncidentStatsQuery, IncidentStatus, IncidentSummary, Notification, Postmortem, RunbookStepRequest,
    SeriousIncidentRequest, SlaPolicy, TransitionRequest, UpdateIncidentRequest,
};
use keel_shared::kpis::{Kpi, KpiDefinition, KpiQuery, KpiValuesRequest};
use keel_shared::ledger::{IncidentCost, Ledger, RatesImported, RoiFigures, RoiQuery};
use keel_shared::models::{
    ChangeStageRequest, CreateModelRequest, CreateVersionRequest, ModelListQuery, ModelListResponse, ModelResponse,
    ModelSummary, VersionSummary,
};
use keel_shared::monitoring::{DriftHistory, DriftHistoryQuery, DriftOverview, DriftRun, EvaluateRequest};
use keel_shared::reports::{FrozenReport, GovernanceReport, ReportQuery, StakeholderQuery, StakeholderView};
use keel_shared::telemetry::{SeriesQuery, SeriesResponse};
use keel_shared::{ErrorBody, ModelId};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub type ApiResult<T> = Result<T, ErrorBody>;

pub async fn list_models(query: &ModelListQuery) -> ApiResult<ModelListResponse> {
    receive(Request::get(&format!("/api/models?{}", query_string(query)?)).send().await).await
}

pub async fn get_model(id: &ModelId) -> ApiResult<ModelResponse> {
    receive(Request::get(&format!("/api/models/{}", encode(&id.0))).send().await).await
}

pub async fn create_model(request: &CreateModelRequest) -> ApiResult<ModelSummary> {
    request.validate().map_err(invalid)?;
    post("/api/models", request).await
}

pub async fn create_version(model: &ModelId, request: &CreateVersionRequest) -> ApiResult<VersionSummary> {
    request.validate().map_err(invalid)?;
    post(&format!("/api/models/{}/versions", encode(&model.0)), request).await
}

pub async fn change_stage(model: &ModelId, tag: &str, request: &ChangeStageRequest) -> ApiResult<VersionSummary> {
    post(&format!("/api/models/{model}/versions/{}/stage", encode(tag)), request).await
}

pub async fn series(model: &ModelId, query: &SeriesQuery) -> ApiResult<SeriesResponse> {
    let url = format!("/api/models/{}/series?{}", encode(&model.0), query_string(query)?);
    receive(Request::get(&url).send().await).await
}

pub async fn model_metrics(model: &ModelId) -> ApiResult<Vec<String>> {
    receive(Request::get(&format!("/api/models/{}/metrics", encode(&model.0))).send().await).await
}

pub async fn fleet(query: &ModelListQuery) -> ApiResult<FleetResponse> {
    receive(Request::get(&format!("/api/fleet?{}", query_string(query)?)).send().await).await
}

pub async fn model_sparklines(model: &ModelId) -> ApiResult<Vec<Sparkline>> {
    receive(Request::get(&format!("/api/models/{}/sparklines", encode(&model.0))).send().await).await
}

pub async fn fleet_health() -> ApiResult<Vec<ModelHealth>> {
    receive(Request::get("/api/fleet/health").send().await).await
}

pub async fn set_health_thresholds(model: &ModelId, thresholds: &HealthThresholds) -> ApiResult<ModelHealth> {
    let errors = thresholds.validate();
    if !errors.is_empty() {
        return Err(invalid(errors));
    }
    let url = format!("/api/models/{}/health-thresholds", encode(&model.0));
    let request = Request::put(&url).json(thresholds).map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

/// The live event stream (`EventSource` URL), resuming after `last_event_id` if given.
pub async fn drift_overview(model: &ModelId) -> ApiResult<DriftOverview> {
    receive(Request::get(&format!("/api/models/{}/drift", encode(&model.0))).send().await).await
}

pub async fn evaluate_drift(model: &ModelId) -> ApiResult<DriftRun> {
    post(&format!("/api/models/{}/drift/runs", encode(&model.0)), &EvaluateRequest::default()).await
}

pub async fn drift_history(model: &ModelId, query: &DriftHistoryQuery) -> ApiResult<DriftHistory> {
    let url = format!("/api/models/{}/drift/history?{}", encode(&model.0), query_string(query)?);
    receive(Request::get(&url).send().await).await
}

/// Where a version's reference file is uploaded (`PUT`, CSV or JSON body).
pub fn reference_upload_url(model: &ModelId, tag: &str, filename: &str) -> String {
    let query = serde_urlencoded::to_string([("filename", filename)]).unwrap_or_default();
    format!("/api/models/{}/versions/{}/reference?{query}", encode(&model.0), encode(tag))
}

pub fn live_url(last_event_id: Option<&str>) -> String {
    match last_event_id {
        Some(id) => format!("/api/live?last_event_id={}", encode(id)),
        None => "/api/live".into(),
    }
}

pub async fn me() -> ApiResult<MeResponse> {
    receive(Request::get("/api/auth/me").send().await).await
}

pub async fn log_in(request: &LoginRequest) -> ApiResult<MeResponse> {
    post("/api/auth/login", request).await
}

pub async fn set_up(request: &SetupRequest) -> ApiResult<MeResponse> {
    post("/api/auth/setup", request).await
}

pub async fn log_out() -> ApiResult<()> {
    let response = Request::post("/api/auth/logout").send().await;
    match response {
        Ok(response) if response.ok() => Ok(()),
        other => receive::<serde::de::IgnoredAny>(other).await.map(|_| ()),
    }
}

pub async fn list_users() -> ApiResult<Vec<UserSummary>> {
    receive(Request::get("/api/users").send().await).await
}

pub async fn create_user(request: &CreateUserRequest) -> ApiResult<UserSummary> {
    request.validate().map_err(invalid)?;
    post("/api/users", request).await
}

pub async fn set_user_active(id: &str, active: bool) -> ApiResult<UserSummary> {
    let verb = if active { "reactivate" } else { "deactivate" };
    post(&format!("/api/users/{}/{verb}", encode(id)), &std::collections::BTreeMap::<String, String>::new()).await
}

/// Answered 204 when the password was changed.
pub async fn change_password(request: &ChangePasswordRequest) -> ApiResult<()> {
    let request =
        Request::post("/api/auth/password").json(request).map_err(|error| client_error(&error.to_string()))?;
    match request.send().await {
        Ok(response) if response.ok() => Ok(()),
        other => receive::<serde::de::IgnoredAny>(other).await.map(|_| ()),
    }
}

pub async fn list_tokens() -> ApiResult<Vec<TokenSummary>> {
    receive(Request::get("/api/tokens").send().await).await
}

pub async fn create_token(request: &CreateTokenRequest) -> ApiResult<CreatedTokenResponse> {
    request.validate().map_err(invalid)?;
    post("/api/tokens", request).await
}

pub async fn revoke_token(id: &str) -> ApiResult<TokenSummary> {
    receive(Request::post(&format!("/api/tokens/{}/revoke", encode(id))).send().await).await
}

pub async fn list_audit(query: &AuditQuery) -> ApiResult<AuditListResponse> {
    receive(Request::get(&format!("/api/audit?{}", query_string(query)?)).send().await).await
}

pub async fn verify_audit() -> ApiResult<AuditVerifyResponse> {
    receive(Request::get("/api/audit/verify").send().await).await
}

/// The CSV download of every entry matching `query` (a plain link: the browser downloads it).
pub fn audit_export_url(query: &AuditQuery) -> String {
    format!("/api/audit/export.csv?{}", query_string(query).unwrap_or_default())
}

pub async fn list_incidents(query: &IncidentQuery) -> ApiResult<IncidentListResponse> {
    receive(Request::get(&format!("/api/incidents?{}", query_string(query)?)).send().await).await
}

pub async fn get_incident(id: &str) -> ApiResult<IncidentDetail> {
    receive(Request::get(&format!("/api/incidents/{}", encode(id))).send().await).await
}

pub async fn create_incident(request: &CreateIncidentRequest) -> ApiResult<IncidentSummary> {
    post("/api/incidents", request).await
}

pub async fn update_incident(id: &str, request: &UpdateIncidentRequest) -> ApiResult<IncidentDetail> {
    let request = Request::patch(&format!("/api/incidents/{}", encode(id)))
        .json(request)
        .map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn transition_incident(id: &str, to: IncidentStatus) -> ApiResult<IncidentDetail> {
    post(&format!("/api/incidents/{}/transitions", encode(id)), &TransitionRequest { to }).await
}

pub async fn comment_incident(id: &str, text: &str) -> ApiResult<IncidentDetail> {
    post(&format!("/api/incidents/{}/comments", encode(id)), &CommentRequest { text: text.to_owned() }).await
}

pub async fn set_runbook_step(id: &str, step: usize, done: bool) -> ApiResult<IncidentDetail> {
    post(&format!("/api/incidents/{}/runbook-steps", encode(id)), &RunbookStepRequest { step, done }).await
}

pub async fn save_postmortem(id: &str, postmortem: &Postmortem) -> ApiResult<IncidentDetail> {
    put(&format!("/api/incidents/{}/postmortem", encode(id)), postmortem).await
}

pub async fn mark_serious(id: &str, request: &SeriousIncidentRequest) -> ApiResult<IncidentDetail> {
    put(&format!("/api/incidents/{}/serious", encode(id)), request).await
}

/// The Markdown download of an incident's postmortem (a plain link).
pub fn postmortem_url(id: &str) -> String {
    format!("/api/incidents/{}/postmortem.md", encode(id))
}

/// The Markdown download of an incident's Art. 73 report draft (a plain link).
pub fn serious_report_url(id: &str) -> String {
    format!("/api/incidents/{}/serious-report.md", encode(id))
}

pub async fn incident_stats(query: &IncidentStatsQuery) -> ApiResult<IncidentStats> {
    receive(Request::get(&format!("/api/incidents/stats?{}", query_string(query)?)).send().await).await
}

pub async fn notifications() -> ApiResult<Vec<Notification>> {
    receive(Request::get("/api/notifications").send().await).await
}

/// The signed-in user has seen the incident as it stands (the bell's unread).
pub async fn mark_incident_read(id: &str) -> ApiResult<()> {
    no_content(Request::post(&format!("/api/incidents/{}/read", encode(id))).send().await).await
}

pub async fn list_alert_rules() -> ApiResult<Vec<AlertRule>> {
    receive(Request::get("/api/alert-rules").send().await).await
}

pub async fn create_alert_rule(spec: &AlertRuleSpec) -> ApiResult<AlertRule> {
    post("/api/alert-rules", spec).await
}

pub async fn update_alert_rule(id: &str, spec: &AlertRuleSpec) -> ApiResult<AlertRule> {
    put(&format!("/api/alert-rules/{}", encode(id)), spec).await
}

pub async fn preview_alert_rule(spec: &AlertRuleSpec) -> ApiResult<Vec<RulePreview>> {
    post("/api/alert-rules/preview", spec).await
}

pub async fn alert_history() -> ApiResult<Vec<AlertHistoryEntry>> {
    receive(Request::get("/api/alert-history").send().await).await
}

pub async fn list_silences() -> ApiResult<Vec<Silence>> {
    receive(Request::get("/api/silences").send().await).await
}

pub async fn create_silence(spec: &SilenceSpec) -> ApiResult<Silence> {
    post("/api/silences", spec).await
}

pub async fn expire_silence(id: &str) -> ApiResult<()> {
    no_content(Request::delete(&format!("/api/silences/{}", encode(id))).send().await).await
}

pub async fn list_runbooks() -> ApiResult<Vec<Runbook>> {
    receive(Request::get("/api/runbooks").send().await).await
}

pub async fn save_runbook(id: Option<&str>, spec: &RunbookSpec) -> ApiResult<Runbook> {
    match id {
        Some(id) => put(&format!("/api/runbooks/{}", encode(id)), spec).await,
        None => post("/api/runbooks", spec).await,
    }
}

pub async fn get_sla() -> ApiResult<SlaPolicy> {
    receive(Request::get("/api/sla").send().await).await
}

pub async fn set_sla(policy: &SlaPolicy) -> ApiResult<SlaPolicy> {
    put("/api/sla", policy).await
}

pub async fn list_integrations() -> ApiResult<Vec<Integration>> {
    receive(Request::get("/api/integrations").send().await).await
}

pub async fn create_integration(request: &CreateIntegrationRequest) -> ApiResult<CreatedIntegration> {
    post("/api/integrations", request).await
}

pub async fn revoke_integration(id: &str) -> ApiResult<()> {
    no_content(Request::delete(&format!("/api/integrations/{}", encode(id))).send().await).await
}

pub async fn list_changes(query: &ChangeQuery) -> ApiResult<ChangeListResponse> {
    receive(Request::get(&format!("/api/changes?{}", query_string(query)?)).send().await).await
}

pub async fn get_change(id: &str) -> ApiResult<ChangeDetail> {
    receive(Request::get(&format!("/api/changes/{}", encode(id))).send().await).await
}

pub async fn create_change(request: &CreateChangeRequest) -> ApiResult<ChangeDetail> {
    post("/api/changes", request).await
}

pub async fn update_change(id: &str, request: &UpdateChangeRequest) -> ApiResult<ChangeDetail> {
    let url = format!("/api/changes/{}", encode(id));
    let request = Request::patch(&url).json(request).map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn transition_change(id: &str, to: ChangeStatus) -> ApiResult<ChangeDetail> {
    post(&format!("/api/changes/{}/transitions", encode(id)), &ChangeTransitionRequest { to }).await
}

pub async fn decide_change(id: &str, request: &ApprovalRequest) -> ApiResult<ChangeDetail> {
    post(&format!("/api/changes/{}/approvals", encode(id)), request).await
}

pub async fn deployments(model: &ModelId) -> ApiResult<Vec<ObservedDeployment>> {
    receive(Request::get(&format!("/api/models/{}/deployments", encode(&model.0))).send().await).await
}

fn version_path(model: &ModelId, tag: &str, rest: &str) -> String {
    format!("/api/models/{}/versions/{}/{rest}", encode(&model.0), encode(tag))
}

pub async fn fairness(model: &ModelId, tag: &str) -> ApiResult<FairnessReview> {
    receive(Request::get(&version_path(model, tag, "fairness")).send().await).await
}

/// Sends the evaluation set file as it is (no copy in memory).
pub async fn upload_fairness(
    model: &ModelId,
    tag: &str,
    query: &FairnessQuery,
    file: web_sys::File,
) -> ApiResult<FairnessReview> {
    let url = format!("{}?{}", version_path(model, tag, "fairness"), query_string(query)?);
    let request = Request::put(&url)
        .header("content-type", "text/csv")
        .body(file)
        .map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn sign_off_fairness(model: &ModelId, tag: &str, request: &SignOffRequest) -> ApiResult<FairnessReview> {
    post(&version_path(model, tag, "fairness/sign-off"), request).await
}

pub async fn model_card(model: &ModelId, tag: &str) -> ApiResult<ModelCardResponse> {
    receive(Request::get(&version_path(model, tag, "model-card")).send().await).await
}

pub async fn save_model_card(model: &ModelId, tag: &str, card: &ModelCard) -> ApiResult<ModelCardResponse> {
    put(&version_path(model, tag, "model-card"), card).await
}

pub fn model_card_markdown_url(model: &ModelId, tag: &str) -> String {
    version_path(model, tag, "model-card.md")
}

pub async fn readiness(model: &ModelId) -> ApiResult<ReadinessAssessment> {
    receive(Request::get(&format!("/api/models/{}/readiness", encode(&model.0))).send().await).await
}

pub async fn attest_readiness(model: &ModelId, request: &ReadinessRequest) -> ApiResult<ReadinessAssessment> {
    put(&format!("/api/models/{}/readiness", encode(&model.0)), request).await
}

pub async fn stakeholder(query: &StakeholderQuery) -> ApiResult<StakeholderView> {
    receive(Request::get(&format!("/api/stakeholder?{}", query_string(query)?)).send().await).await
}

/// Where the server renders the fleet's cumulative net value as SVG.
pub fn stakeholder_chart_url(query: &StakeholderQuery, revision: u64) -> String {
    format!("/api/stakeholder/chart.svg?{}&r={revision}", query_string(query).unwrap_or_default())
}

/// Where the server renders a model's cumulative net value as SVG.
pub fn roi_chart_url(model: &ModelId, query: &RoiQuery, revision: u64) -> String {
    format!("/api/models/{}/roi/chart.svg?{}&r={revision}", encode(&model.0), query_string(query).unwrap_or_default())
}

pub async fn list_kpis(query: &KpiQuery) -> ApiResult<Vec<Kpi>> {
    receive(Request::get(&format!("/api/kpis?{}", query_string(query)?)).send().await).await
}

pub async fn get_kpi(id: &str) -> ApiResult<Kpi> {
    receive(Request::get(&format!("/api/kpis/{}", encode(id))).send().await).await
}

pub async fn create_kpi(definition: &KpiDefinition) -> ApiResult<Kpi> {
    post("/api/kpis", definition).await
}

pub async fn add_kpi_values(id: &str, request: &KpiValuesRequest) -> ApiResult<Kpi> {
    post(&format!("/api/kpis/{}/values", encode(id)), request).await
}

/// Sends a CSV file of values as it is.
pub async fn upload_kpi_values(id: &str, file: web_sys::File) -> ApiResult<Kpi> {
    let request = Request::post(&format!("/api/kpis/{}/values", encode(id)))
        .header("content-type", "text/csv")
        .body(file)
        .map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn ledger(model: &ModelId) -> ApiResult<Ledger> {
    receive(Request::get(&format!("/api/models/{}/ledger", encode(&model.0))).send().await).await
}

/// Where the ledger downloads as CSV.
pub fn ledger_csv_url(model: &ModelId) -> String {
    format!("/api/models/{}/ledger.csv", encode(&model.0))
}

/// Replaces the model's ledger with a CSV file, as it is.
pub async fn upload_ledger(model: &ModelId, file: web_sys::File) -> ApiResult<Ledger> {
    let request = Request::put(&format!("/api/models/{}/ledger", encode(&model.0)))
        .header("content-type", "text/csv")
        .body(file)
        .map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn roi(model: &ModelId, query: &RoiQuery) -> ApiResult<RoiFigures> {
    receive(Request::get(&format!("/api/models/{}/roi?{}", encode(&model.0), query_string(query)?)).send().await).await
}

pub async fn set_incident_cost(model: &ModelId, cost: &IncidentCost) -> ApiResult<Ledger> {
    put(&format!("/api/models/{}/incident-cost", encode(&model.0)), cost).await
}

/// Imports a CNB or ECB rates file, as it is.
pub async fn upload_rates(file: web_sys::File) -> ApiResult<RatesImported> {
    let request = Request::post("/api/exchange-rates").body(file).map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

pub async fn governance_report(query: &ReportQuery) -> ApiResult<GovernanceReport> {
    receive(Request::get(&format!("/api/reports/governance?{}", query_string(query)?)).send().await).await
}

pub async fn freeze_report(query: &ReportQuery) -> ApiResult<FrozenReport> {
    post("/api/reports/frozen", query).await
}

pub async fn frozen_reports() -> ApiResult<Vec<FrozenReport>> {
    receive(Request::get("/api/reports/frozen").send().await).await
}

pub async fn frozen_report(id: &str) -> ApiResult<FrozenReport> {
    receive(Request::get(&format!("/api/reports/frozen/{}", encode(id))).send().await).await
}

fn query_string<Q: Serialize>(query: &Q) -> ApiResult<String> {
    serde_urlencoded::to_string(query).map_err(|error| client_error(&error.to_string()))
}

async fn post<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> ApiResult<T> {
    let request = Request::post(url).json(body).map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

async fn put<B: Serialize, T: DeserializeOwned>(url: &str, body: &B) -> ApiResult<T> {
    let request = Request::put(url).json(body).map_err(|error| client_error(&error.to_string()))?;
    receive(request.send().await).await
}

/// An answer without a body (204).
async fn no_content(sent: Result<Response, gloo_net::Error>) -> ApiResult<()> {
    match sent {
        Ok(response) if response.ok() => Ok(()),
        other => receive::<serde::de::IgnoredAny>(other).await.map(|_| ()),
    }
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
    if status == 401 {
        crate::auth::session_ended();
    }
    Err(response.json::<ErrorBody>().await.unwrap_or_else(|_| ErrorBody {
        kind: "about:blank".into(),
        title: response.status_text(),
        status,
        detail: format!("the server answered {status} {}", response.status_text()),
        fields: Default::default(),
    }))
}

/// What `shared`'s validation found before anything was sent, shaped as the server's 422
/// (the server runs the same rules again).
fn invalid(fields: keel_shared::validation::FieldErrors) -> ErrorBody {
    let detail = fields.iter().map(|(field, message)| format!("{field}: {message}")).collect::<Vec<_>>().join("; ");
    ErrorBody { kind: "/problems/validation".into(), title: "Unprocessable Entity".into(), status: 422, detail, fields }
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
