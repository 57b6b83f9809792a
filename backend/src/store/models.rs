//! Models and their versions.

use keel_shared::audit::{AuditAction, AuditTarget};
use keel_shared::live::LiveEvent;
use keel_shared::models::{ModelResponse, ModelSummary, RiskTier, Stage, VersionSummary};
use keel_shared::validation::{ModelChanges, ModelFilter, NewModel, NewVersion, PROHIBITED_IN_PRODUCTION};
use keel_shared::{ModelId, VersionId};
use sqlx::{Any, FromRow, Transaction};

use super::audit::{Actor, AuditRecord, ChangeSet};
use super::{Dialect, Store, from_millis, is_unique_violation, new_id};
use crate::domain::{DomainError, DomainResult};

#[derive(FromRow)]
struct ModelRow {
    id: String,
    name: String,
    description: String,
    owner: String,
    use_case: String,
    risk_tier: String,
    created_at: i64,
    updated_at: i64,
    version_count: i64,
    latest_version: Option<String>,
    production_version: Option<String>,
    rollback_version: Option<String>,
}

impl TryFrom<ModelRow> for ModelSummary {
    type Error = DomainError;

    fn try_from(row: ModelRow) -> DomainResult<Self> {
        Ok(Self {
            id: ModelId(row.id),
            risk_tier: row.risk_tier.parse::<RiskTier>().map_err(|error| corrupt(&error))?,
            name: row.name,
            description: row.description,
            owner: row.owner,
            use_case: row.use_case,
            created_at: from_millis(row.created_at),
            updated_at: from_millis(row.updated_at),
            version_count: u32::try_from(row.version_count).unwrap_or(u32::MAX),
            latest_version: row.latest_version,
            production_version: row.production_version,
            rollback_version: row.rollback_version,
        })
    }
}

#[derive(FromRow)]
struct VersionRow {
    id: String,
    model_id: String,
    tag: String,
    stage: String,
    training_data_ref: String,
    notes: String,
    created_at: i64,
}

impl TryFrom<VersionRow> for VersionSummary {
    type Error = DomainError;

    fn try_from(row: VersionRow) -> DomainResult<Self> {
        Ok(Self {
            id: VersionId(row.id),
            model_id: ModelId(row.model_id),
            stage: row.stage.parse::<Stage>().map_err(|error| corrupt(&error))?,
            tag: row.tag,
            training_data_ref: row.training_data_ref,
            notes: row.notes,
            created_at: from_millis(row.created_at),
        })
    }
}

/// A stored enum name the code does not know: the database was edited by hand.
fn corrupt(error: &keel_shared::models::UnknownVariant) -> DomainError {
    DomainError::Internal(anyhow::anyhow!("unexpected value in the store: {error}"))
}

// SQL fragments are macros so that each query is one `concat!`-ed literal: sqlx accepts
// only `'static` SQL text without an audit wrapper.
macro_rules! model_columns {
    () => {
        "m.id, m.name, m.description, m.owner, m.use_case, m.risk_tier, m.created_at, m.updated_at, m.rollback_version,
    (SELECT COUNT(*) FROM model_versions v WHERE v.model_id = m.id) AS version_count,
    (SELECT v.tag FROM model_versions v WHERE v.model_id = m.id ORDER BY v.created_at DESC, v.id DESC LIMIT 1) AS latest_version,
    (SELECT v.tag FROM model_versions v WHERE v.model_id = m.id AND v.stage = 'production') AS production_version"
    };
}

/// `$1` search pattern, `$2` risk tier, `$3` stage; each NULL when not filtered on.
macro_rules! model_filter {
    () => {
        "($1 IS NULL OR lower(m.name) LIKE $1 ESCAPE '\\' OR lower(m.description) LIKE $1 ESCAPE '\\'
        OR lower(m.owner) LIKE $1 ESCAPE '\\' OR lower(m.use_case) LIKE $1 ESCAPE '\\')
    AND ($2 IS NULL OR m.risk_tier = $2)
    AND ($3 IS NULL OR EXISTS (SELECT 1 FROM model_versions v WHERE v.model_id = m.id AND v.stage = $3))"
    };
}

macro_rules! version_columns {
    () => {
        "id, model_id, tag, stage, training_data_ref, notes, created_at"
    };
}

impl Store {
    /// One page of the models matching `filter`, ordered by name, and how many match in all.
    #[tracing::instrument(skip_all)]
    pub async fn list_models(&self, filter: &ModelFilter) -> DomainResult<(Vec<ModelSummary>, u64)> {
        let pattern = filter.search.as_deref().map(like_pattern);
        let risk_tier = filter.risk_tier.map(RiskTier::as_str);
        let stage = filter.stage.map(Stage::as_str);
        let total: i64 = sqlx::query_scalar(concat!("SELECT COUNT(*) FROM models m WHERE ", model_filter!()))
            .bind(pattern.clone())
            .bind(risk_tier)
            .bind(stage)
            .fetch_one(&self.pool)
            .await?;
        let rows: Vec<ModelRow> = sqlx::query_as(concat!(
            "SELECT ",
            model_columns!(),
            " FROM models m WHERE ",
            model_filter!(),
            " ORDER BY lower(m.name) LIMIT $4 OFFSET $5"
        ))
        .bind(pattern)
        .bind(risk_tier)
        .bind(stage)
        .bind(i64::from(filter.per_page))
        .bind(i64::from(filter.page - 1) * i64::from(filter.per_page))
        .fetch_all(&self.pool)
        .await?;
        let models = rows.into_iter().map(ModelSummary::try_from).collect::<DomainResult<_>>()?;
        Ok((models, u64::try_from(total).unwrap_or_default()))
    }

    #[tracing::instrument(skip_all, fields(name = %model.name))]
    pub async fn create_model(&self, model: &NewModel, actor: &Actor) -> DomainResult<ModelSummary> {
        let id = new_id();
        let now = self.now_millis();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO models (id, name, description, owner, use_case, risk_tier, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(&id)
        .bind(&model.name)
        .bind(&model.description)
        .bind(&model.owner)
        .bind(&model.use_case)
        .bind(model.risk_tier.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(|error| name_conflict(error, &model.name))?;
        let changes = ChangeSet::default()
            .field("name", None, Some(&model.name))
            .field("description", None, Some(&model.description))
            .field("owner", None, Some(&model.owner))
            .field("use_case", None, Some(&model.use_case))
            .field("risk_tier", None, Some(model.risk_tier.as_str()))
            .build();
        self.append_audit(
            &mut tx,
            AuditRecord {
                actor,
                action: AuditAction::ModelCreate,
                target: AuditTarget::Model,
                target_id: &id,
                changes,
            },
        )
        .await?;
        tx.commit().await?;
        self.model_summary(&ModelId(id)).await
    }

    /// A model and its versions, newest first.
    #[tracing::instrument(skip_all, fields(model = %id))]
    pub async fn get_model(&self, id: &ModelId) -> DomainResult<ModelResponse> {
        Ok(ModelResponse { model: self.model_summary(id).await?, versions: self.list_versions(id).await? })
    }

    /// Changes the given fields. Moving a model with a production version into the
    /// prohibited risk tier is refused.
    #[tracing::instrument(skip_all, fields(model = %id))]
    pub async fn update_model(
        &self,
        id: &ModelId,
        changes: &ModelChanges,
        actor: &Actor,
    ) -> DomainResult<ModelSummary> {
        let mut tx = self.begin_write().await?;
        // The values before, for the audit entry; SQLite's write transaction already
        // excludes other writers, PostgreSQL needs the row lock.
        let select_before = match self.dialect {
            Dialect::Sqlite => "SELECT name, description, owner, use_case, risk_tier FROM models WHERE id = $1",
            Dialect::Postgres => {
                "SELECT name, description, owner, use_case, risk_tier FROM models WHERE id = $1 FOR UPDATE"
            }
        };
        let before: Option<(String, String, String, String, String)> =
            sqlx::query_as(select_before).bind(&id.0).fetch_optional(&mut *tx).await?;
        let Some((name, description, owner, use_case, old_tier)) = before else {
            return Err(DomainError::NotFound(format!("no model with id '{id}'")));
        };
        // The model row is locked (above): no version can enter production meanwhile.
        if changes.risk_tier.is_some_and(|tier| !tier.allows_production())
            && has_production_version(&mut tx, id).await?
        {
            return Err(DomainError::field("risk_tier", PROHIBITED_IN_PRODUCTION));
        }
        sqlx::query(
            "UPDATE models SET
                name = COALESCE($2, name),
                description = COALESCE($3, description),
                owner = COALESCE($4, owner),
                use_case = COALESCE($5, use_case),
                risk_tier = COALESCE($6, risk_tier),
                updated_at = $7
             WHERE id = $1",
        )
        .bind(&id.0)
        .bind(changes.name.as_deref())
        .bind(changes.description.as_deref())
        .bind(changes.owner.as_deref())
        .bind(changes.use_case.as_deref())
        .bind(changes.risk_tier.map(RiskTier::as_str))
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await
        .map_err(|error| name_conflict(error, changes.name.as_deref().unwrap_or_default()))?;
        let after = |new: &Option<String>, old: &str| new.clone().unwrap_or_else(|| old.to_owned());
        let audit_changes = ChangeSet::default()
            .field("name", Some(&name), Some(&after(&changes.name, &name)))
            .field("description", Some(&description), Some(&after(&changes.description, &description)))
            .field("owner", Some(&owner), Some(&after(&changes.owner, &owner)))
            .field("use_case", Some(&use_case), Some(&after(&changes.use_case, &use_case)))
            .field(
                "risk_tier",
                Some(&old_tier),
                Some(changes.risk_tier.map_or(old_tier.as_str(), |tier| tier.as_str())),
            )
            .build();
        let record = AuditRecord {
            actor,
            action: AuditAction::ModelUpdate,
            target: AuditTarget::Model,
            target_id: &id.0,
            changes: audit_changes,
        };
        self.append_audit(&mut tx, record).await?;
        tx.commit().await?;
        self.model_summary(id).await
    }

    /// The versions of a model, newest first.
    #[tracing::instrument(skip_all, fields(model = %id))]
    pub async fn list_versions(&self, id: &ModelId) -> DomainResult<Vec<VersionSummary>> {
        let rows: Vec<VersionRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM model_versions WHERE model_id = $1 ORDER BY created_at DESC, id DESC"
        ))
        .bind(&id.0)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            // Tell "no versions yet" from "no such model".
            self.model_summary(id).await?;
        }
        rows.into_iter().map(VersionSummary::try_from).collect()
    }

    /// Registers a version. A second production version, a duplicate tag, or a
    /// production version of a prohibited-tier model (`RiskTier::allows_production`) are
    /// refused.
    #[tracing::instrument(skip_all, fields(model = %model_id, tag = %version.tag))]
    pub async fn create_version(
        &self,
        model_id: &ModelId,
        version: &NewVersion,
        actor: &Actor,
    ) -> DomainResult<VersionSummary> {
        let id = new_id();
        let mut tx = self.begin_write().await?;
        let tier = self.lock_model_tier(&mut tx, model_id).await?;
        if version.stage == Stage::Production && !tier.allows_production() {
            return Err(DomainError::field("stage", PROHIBITED_IN_PRODUCTION));
        }
        let inserted = sqlx::query(
            "INSERT INTO model_versions (id, model_id, tag, stage, training_data_ref, notes, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&model_id.0)
        .bind(&version.tag)
        .bind(version.stage.as_str())
        .bind(&version.training_data_ref)
        .bind(&version.notes)
        .bind(self.now_millis())
        .execute(&mut *tx)
        .await;
        if let Err(error) = inserted {
            if is_unique_violation(&error) {
                drop(tx);
                return Err(self.explain_version_conflict(model_id, version).await);
            }
            return Err(error.into());
        }
        let changes = ChangeSet::default()
            .field("model_id", None, Some(&model_id.0))
            .field("tag", None, Some(&version.tag))
            .field("stage", None, Some(version.stage.as_str()))
            .field("training_data_ref", None, Some(&version.training_data_ref))
            .field("notes", None, Some(&version.notes))
            .build();
        self.append_audit(
            &mut tx,
            AuditRecord {
                actor,
                action: AuditAction::VersionCreate,
                target: AuditTarget::ModelVersion,
                target_id: &id,
                changes,
            },
        )
        .await?;
        tx.commit().await?;
        let row: VersionRow =
            sqlx::query_as(concat!("SELECT ", version_columns!(), " FROM model_versions WHERE id = $1"))
                .bind(&id)
                .fetch_one(&self.pool)
                .await?;
        row.try_into()
    }

    /// Moves version `tag` of the model from stage `from` to `to` in one transaction, each
    /// move with its audit entry and `stage` event (see `apply_stage_move`). Whether the
    /// move is allowed is the caller's rule (`Stage::move_to`).
    #[tracing::instrument(skip_all, fields(model = %model_id, tag, to = to.as_str()))]
    pub async fn move_version_stage(
        &self,
        model_id: &ModelId,
        tag: &str,
        from: Stage,
        to: Stage,
        actor: &Actor,
    ) -> DomainResult<VersionSummary> {
        let mut tx = self.begin_write().await?;
        self.apply_stage_move(&mut tx, model_id, tag, Some(from), to, actor).await?;
        self.commit_with_events(tx).await?;
        self.version(model_id, tag).await
    }

    /// Inside `tx`: moves version `tag` from `from` (`None`: whatever stage it is in) to
    /// `to`, each move with its audit entry and `stage` event. Entering production
    /// archives the version that was there and remembers it as the model's rollback
    /// target. If the version is not in `from` any more, it is a conflict.
    pub(crate) async fn apply_stage_move(
        &self,
        tx: &mut Transaction<'static, Any>,
        model_id: &ModelId,
        tag: &str,
        from: Option<Stage>,
        to: Stage,
        actor: &Actor,
    ) -> DomainResult<()> {
        let tier = self.lock_model_tier(tx, model_id).await?;
        if to == Stage::Production && !tier.allows_production() {
            return Err(DomainError::field("stage", PROHIBITED_IN_PRODUCTION));
        }
        let current: Option<String> =
            sqlx::query_scalar("SELECT stage FROM model_versions WHERE model_id = $1 AND tag = $2")
                .bind(&model_id.0)
                .bind(tag)
                .fetch_optional(&mut **tx)
                .await?;
        let current: Stage = current
            .ok_or_else(|| DomainError::NotFound(format!("model '{model_id}' has no version '{tag}'")))?
            .parse()
            .map_err(|error| corrupt(&error))?;
        let from = from.unwrap_or(current);
        if current != from {
            return Err(DomainError::Conflict(format!(
                "version '{tag}' is in {} now, not {}: reload and try again",
                current.as_str(),
                from.as_str()
            )));
        }
        let mut moves = Vec::new();
        if to == Stage::Production {
            let production: Option<String> =
                sqlx::query_scalar("SELECT tag FROM model_versions WHERE model_id = $1 AND stage = 'production'")
                    .bind(&model_id.0)
                    .fetch_optional(&mut **tx)
                    .await?;
            if let Some(production) = production.filter(|production| production != tag) {
                sqlx::query("UPDATE models SET rollback_version = $2 WHERE id = $1")
                    .bind(&model_id.0)
                    .bind(&production)
                    .execute(&mut **tx)
                    .await?;
                moves.push((production, Stage::Production, Stage::Archived));
            }
        }
        moves.push((tag.to_owned(), from, to));
        for (version, from, to) in &moves {
            let id: Option<String> = sqlx::query_scalar(
                "UPDATE model_versions SET stage = $4 WHERE model_id = $1 AND tag = $2 AND stage = $3 RETURNING id",
            )
            .bind(&model_id.0)
            .bind(version)
            .bind(from.as_str())
            .bind(to.as_str())
            .fetch_optional(&mut **tx)
            .await?;
            let id = id.ok_or_else(|| {
                DomainError::Conflict(format!(
                    "version '{version}' left {} meanwhile: reload and try again",
                    from.as_str()
                ))
            })?;
            let changes = ChangeSet::default().field("stage", Some(from.as_str()), Some(to.as_str())).build();
            let record = AuditRecord {
                actor,
                action: AuditAction::VersionStage,
                target: AuditTarget::ModelVersion,
                target_id: &id,
                changes,
            };
            self.append_audit(tx, record).await?;
            let event = LiveEvent::Stage { model_id: model_id.clone(), version: version.clone(), from: *from, to: *to };
            self.append_event(tx, &event).await?;
        }
        Ok(())
    }

    /// One version of the model.
    pub async fn version(&self, model_id: &ModelId, tag: &str) -> DomainResult<VersionSummary> {
        let row: Option<VersionRow> = sqlx::query_as(concat!(
            "SELECT ",
            version_columns!(),
            " FROM model_versions WHERE model_id = $1 AND tag = $2"
        ))
        .bind(&model_id.0)
        .bind(tag)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| DomainError::NotFound(format!("model '{model_id}' has no version '{tag}'")))?.try_into()
    }

    /// The model's risk tier, its row locked for the rest of `tx` (SQLite's write
    /// transaction already excludes other writers), so tier and stages change one at a time.
    async fn lock_model_tier(&self, tx: &mut Transaction<'static, Any>, model_id: &ModelId) -> DomainResult<RiskTier> {
        let select = match self.dialect {
            Dialect::Sqlite => "SELECT risk_tier FROM models WHERE id = $1",
            Dialect::Postgres => "SELECT risk_tier FROM models WHERE id = $1 FOR UPDATE",
        };
        let tier: Option<String> = sqlx::query_scalar(select).bind(&model_id.0).fetch_optional(&mut **tx).await?;
        tier.ok_or_else(|| DomainError::NotFound(format!("no model with id '{model_id}'")))?
            .parse()
            .map_err(|error| corrupt(&error))
    }

    async fn explain_version_conflict(&self, model_id: &ModelId, version: &NewVersion) -> DomainError {
        let same_tag: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT id FROM model_versions WHERE model_id = $1 AND tag = $2")
                .bind(&model_id.0)
                .bind(&version.tag)
                .fetch_optional(&self.pool)
                .await;
        if let Ok(Some(_)) = same_tag {
            return DomainError::Conflict(format!("this model already has a version tagged '{}'", version.tag));
        }
        let production: Result<Option<String>, _> =
            sqlx::query_scalar("SELECT tag FROM model_versions WHERE model_id = $1 AND stage = 'production'")
                .bind(&model_id.0)
                .fetch_optional(&self.pool)
                .await;
        match production {
            Ok(Some(tag)) => DomainError::Conflict(format!(
                "version '{tag}' is already in production; a model has at most one production version"
            )),
            Ok(None) => DomainError::Conflict("the version conflicts with an existing one".into()),
            Err(error) => error.into(),
        }
    }

    pub(super) async fn model_summary(&self, id: &ModelId) -> DomainResult<ModelSummary> {
        let row: Option<ModelRow> =
            sqlx::query_as(concat!("SELECT ", model_columns!(), " FROM models m WHERE m.id = $1"))
                .bind(&id.0)
                .fetch_optional(&self.pool)
                .await?;
        row.ok_or_else(|| DomainError::NotFound(format!("no model with id '{id}'")))?.try_into()
    }
}

async fn has_production_version(tx: &mut Transaction<'static, Any>, model_id: &ModelId) -> DomainResult<bool> {
    let found: Option<String> =
        sqlx::query_scalar("SELECT id FROM model_versions WHERE model_id = $1 AND stage = 'production'")
            .bind(&model_id.0)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(found.is_some())
}

fn name_conflict(error: sqlx::Error, name: &str) -> DomainError {
    if is_unique_violation(&error) {
        DomainError::Conflict(format!("a model named '{name}' already exists"))
    } else {
        error.into()
    }
}

/// `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` taken literally.
fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}
