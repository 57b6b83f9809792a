//! Markdown exports of an incident: its postmortem, and the EU AI Act Art. 73 report
//! draft for the market surveillance authority.

use std::fmt::Write;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use keel_shared::incidents::IncidentDetail;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiPath;
use crate::services::incidents;

fn markdown(filename: &str, text: String) -> axum::response::Response {
    (
        [
            (header::CONTENT_TYPE, "text/markdown; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
        ],
        text,
    )
        .into_response()
}

fn timeline(detail: &IncidentDetail, out: &mut String) {
    for entry in &detail.timeline {
        let _ = writeln!(
            out,
            "- {} — {} ({}): {}",
            entry.at.format("%Y-%m-%d %H:%M:%S UTC"),
            entry.kind,
            entry.actor,
            entry.text
        );
    }
}

fn header_lines(detail: &IncidentDetail, out: &mut String) {
    let incident = &detail.incident;
    let _ = writeln!(out, "- Severity: {}", incident.severity.label());
    let _ = writeln!(out, "- Status: {}", incident.status.label());
    let _ = writeln!(out, "- Model: {}", incident.model_name.as_deref().unwrap_or("fleet-wide"));
    let _ = writeln!(out, "- Version: {}", incident.version.as_deref().unwrap_or("—"));
    let _ = writeln!(out, "- Detected: {}", incident.detected_at.to_rfc3339());
    for (label, at) in [
        ("Acknowledged", incident.acknowledged_at),
        ("Mitigated", incident.mitigated_at),
        ("Resolved", incident.resolved_at),
    ] {
        let _ = writeln!(out, "- {label}: {}", at.map_or_else(|| "—".to_owned(), |at| at.to_rfc3339()));
    }
}

pub async fn postmortem_markdown(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let detail = incidents::detail(&state.store, &id).await?;
    let postmortem = detail
        .postmortem
        .clone()
        .ok_or_else(|| ApiError::NotFound(format!("INC-{} has no postmortem yet", detail.incident.number)))?;
    let mut out = format!("# Postmortem: INC-{} {}\n\n", detail.incident.number, detail.incident.title);
    header_lines(&detail, &mut out);
    for (heading, text) in [
        ("Summary", &postmortem.summary),
        ("Impact", &postmortem.impact),
        ("Root cause", &postmortem.root_cause),
        ("Contributing factors", &postmortem.contributing_factors),
    ] {
        let _ = write!(out, "\n## {heading}\n\n{}\n", if text.trim().is_empty() { "—" } else { text.trim() });
    }
    out.push_str("\n## Action items\n\n");
    if postmortem.action_items.is_empty() {
        out.push_str("—\n");
    }
    for item in &postmortem.action_items {
        let due = item.due.map_or_else(|| "no due date".to_owned(), |due| format!("due {due}"));
        let _ = writeln!(out, "- [ ] {} — {} ({due})", item.text, item.owner);
    }
    out.push_str("\n## Timeline\n\n");
    timeline(&detail, &mut out);
    Ok(markdown(&format!("INC-{}-postmortem.md", detail.incident.number), out))
}

pub async fn serious_report_markdown(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<impl IntoResponse> {
    let detail = incidents::detail(&state.store, &id).await?;
    let serious = detail.serious.clone().ok_or_else(|| {
        ApiError::NotFound(format!("INC-{} is not marked a serious incident", detail.incident.number))
    })?;
    let model = match &detail.incident.model {
        Some(model) => Some(state.store.get_model(model).await?.model),
        None => None,
    };
    let mut out = format!(
        "# Serious incident report (EU AI Act Art. 73) — draft\n\nINC-{}: {}\n\n## The AI system\n\n",
        detail.incident.number, detail.incident.title
    );
    if let Some(model) = &model {
        let _ = writeln!(out, "- System: {} ({})", model.name, model.use_case);
        let _ = writeln!(out, "- Provider / owner: {}", model.owner);
        let _ = writeln!(out, "- Risk tier: {}", model.risk_tier.as_str());
    }
    let _ = writeln!(out, "- Version: {}", detail.incident.version.as_deref().unwrap_or("—"));
    out.push_str("\n## Reporting\n\n");
    let categories: Vec<&str> = serious.categories.iter().map(|category| category.label()).collect();
    let _ = writeln!(out, "- Categories: {}", categories.join("; "));
    let _ = writeln!(out, "- Aware since: {}", serious.aware_at.to_rfc3339());
    let _ = writeln!(out, "- Report due: {}", serious.deadline.to_rfc3339());
    let _ =
        writeln!(out, "- Reported: {}", serious.reported_at.map_or_else(|| "not yet".to_owned(), |at| at.to_rfc3339()));
    let _ = write!(
        out,
        "\n## What happened\n\n{}\n\n",
        if detail.impact.trim().is_empty() { "—" } else { detail.impact.trim() }
    );
    header_lines(&detail, &mut out);
    out.push_str("\n## Corrective actions\n\n");
    match &detail.postmortem {
        Some(postmortem) if !postmortem.action_items.is_empty() => {
            for item in &postmortem.action_items {
                let _ = writeln!(out, "- {} — {}", item.text, item.owner);
            }
        }
        _ => out.push_str("— (write the postmortem's action items)\n"),
    }
    out.push_str("\n## Timeline\n\n");
    timeline(&detail, &mut out);
    Ok(markdown(&format!("INC-{}-art73-report.md", detail.incident.number), out))
}
