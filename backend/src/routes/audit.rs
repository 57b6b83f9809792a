//! The audit trail: filtered listing, CSV export, and chain verification.

use axum::Json;
use axum::extract::State;
use axum::http::{Method, header};
use axum::response::IntoResponse;
use keel_shared::audit::{AuditEntry, AuditListResponse, AuditQuery, AuditVerifyResponse};
use keel_shared::auth::Permission;
use keel_shared::validation::{FieldErrors, PER_PAGE_DEFAULT};

use super::Api;
use crate::AppState;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::store::audit::AuditFilter;

pub fn routes(api: Api) -> Api {
    let read = Access::Permission(Permission::ReadAudit);
    api.route(Method::GET, "/api/audit", read, list_audit)
        .route(Method::GET, "/api/audit/verify", read, verify_audit)
        .route(Method::GET, "/api/audit/export.csv", read, export_audit)
}

/// Largest page of the list; the CSV export reads in pages of this size.
const AUDIT_PER_PAGE_MAX: u32 = 1000;

fn filter(query: &AuditQuery) -> ApiResult<AuditFilter> {
    let mut errors = FieldErrors::new();
    let page = query.page.unwrap_or(1);
    if page == 0 {
        errors.insert("page".into(), "must be 1 or more".into());
    }
    let per_page = query.per_page.unwrap_or(PER_PAGE_DEFAULT);
    if !(1..=AUDIT_PER_PAGE_MAX).contains(&per_page) {
        errors.insert("per_page".into(), format!("must be between 1 and {AUDIT_PER_PAGE_MAX}"));
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        errors.insert("to".into(), "must be after `from`".into());
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let text =
        |value: &Option<String>| value.as_deref().map(str::trim).filter(|text| !text.is_empty()).map(str::to_owned);
    Ok(AuditFilter {
        actor: text(&query.actor),
        action: query.action,
        target_type: query.target_type,
        target_id: text(&query.target_id),
        from_millis: query.from.map(|at| at.timestamp_millis()),
        to_millis: query.to.map(|at| at.timestamp_millis()),
        page,
        per_page,
    })
}

async fn list_audit(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditListResponse>> {
    let filter = filter(&query)?;
    let (items, total) = state.store.list_audit(&filter).await?;
    Ok(Json(AuditListResponse { items, total, page: filter.page, per_page: filter.per_page }))
}

async fn verify_audit(State(state): State<AppState>) -> ApiResult<Json<AuditVerifyResponse>> {
    Ok(Json(state.store.verify_audit().await?))
}

/// Every entry matching the filters (paging ignored), newest first, as CSV.
async fn export_audit(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<impl IntoResponse> {
    let mut filter = filter(&AuditQuery { page: None, per_page: None, ..query })?;
    filter.per_page = AUDIT_PER_PAGE_MAX;
    let mut csv = String::from("seq,at,actor,action,target_type,target_id,changes,prev_hash,hash\n");
    loop {
        let (entries, _) = state.store.list_audit(&filter).await?;
        for entry in &entries {
            csv.push_str(&csv_line(entry));
        }
        if entries.len() < AUDIT_PER_PAGE_MAX as usize {
            break;
        }
        filter.page += 1;
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"keel-audit.csv\""),
        ],
        csv,
    ))
}

fn csv_line(entry: &AuditEntry) -> String {
    let changes = serde_json::to_string(&entry.changes).unwrap_or_default();
    let fields = [
        entry.seq.to_string(),
        entry.at.to_rfc3339(),
        entry.actor.clone(),
        entry.action.as_str().to_owned(),
        entry.target_type.as_str().to_owned(),
        entry.target_id.clone(),
        changes,
        entry.prev_hash.clone(),
        entry.hash.clone(),
    ];
    let quoted: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
    format!("{}\n", quoted.join(","))
}

/// RFC 4180 quoting; a leading `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets
/// do not run it as a formula.
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field(r#"{"a":"b,c"}"#), r#""{""a"":""b,c""}""#);
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }
}
