//! The model registry's operations: registering versions and moving them between stages
//! as `Stage::move_to` allows.

use keel_shared::ModelId;
use keel_shared::models::{STAGE_NEEDS_CHANGE, Stage, StageMove, VersionSummary};
use keel_shared::validation::NewVersion;

use crate::domain::{DomainError, DomainResult};
use crate::store::Store;
use crate::store::audit::Actor;

/// Registers a version, only in a stage where it serves no traffic.
pub async fn register_version(
    store: &Store,
    model_id: &ModelId,
    version: &NewVersion,
    actor: &Actor,
) -> DomainResult<VersionSummary> {
    if !version.stage.registrable() {
        return Err(DomainError::Conflict(STAGE_NEEDS_CHANGE.into()));
    }
    store.create_version(model_id, version, actor).await
}

/// Moves version `tag` to `to` where that needs no change request.
pub async fn change_stage(
    store: &Store,
    model_id: &ModelId,
    tag: &str,
    to: Stage,
    actor: &Actor,
) -> DomainResult<VersionSummary> {
    let version = store
        .list_versions(model_id)
        .await?
        .into_iter()
        .find(|version| version.tag == tag)
        .ok_or_else(|| DomainError::NotFound(format!("model '{model_id}' has no version '{tag}'")))?;
    match version.stage.move_to(to) {
        StageMove::Unchanged => Err(DomainError::Conflict(format!("version '{tag}' is already in {}", to.as_str()))),
        StageMove::ThroughChange => Err(DomainError::Conflict(STAGE_NEEDS_CHANGE.into())),
        StageMove::Direct => store.move_version_stage(model_id, tag, version.stage, to, actor).await,
    }
}
