//! The business data the stakeholder page and reports read (every ledger entry, KPI and
//! KPI value), decoded once and kept until a write changes it. Every business write
//! appends a `business` event, so the newest such event (with the row counts, in case
//! old events were pruned) says whether the copy is current — on any replica.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keel_shared::ModelId;
use keel_shared::kpis::KpiValue;
use keel_shared::ledger::{LedgerEntry, NetValueRange, ReportCurrency, RoiFigures};

use super::Store;
use super::kpis::KpiRecord;
use crate::domain::DomainResult;

/// Newest business event, ledger entries, KPIs and KPI values.
type Version = (i64, i64, i64, i64);

/// Summed figures and their Monte Carlo, or why they cannot be shown.
pub type Figures = Result<(RoiFigures, NetValueRange), String>;

/// What figures are computed for: currency, discount rate (bits) and the models, sorted.
type FiguresKey = (ReportCurrency, u64, Vec<ModelId>);

/// One model's figures: currency, discount rate (bits), the model.
type ModelFiguresKey = (ReportCurrency, u64, ModelId);

/// One consistent copy of the business data.
#[derive(Debug, Default)]
pub struct BusinessData {
    pub entries: Vec<(ModelId, LedgerEntry)>,
    pub kpis: Vec<KpiRecord>,
    /// KPI id → its values, oldest first.
    pub values: HashMap<String, Vec<KpiValue>>,
    /// Figures already computed from this copy, by currency, discount rate and models.
    figures: Mutex<HashMap<FiguresKey, Figures>>,
    /// One model's figures already computed from this copy.
    model_figures: Mutex<HashMap<ModelFiguresKey, Result<RoiFigures, String>>>,
}

impl BusinessData {
    /// The figures of `models` (sorted), computed once per copy.
    pub fn figures(
        &self,
        currency: ReportCurrency,
        discount_rate: f64,
        models: &[ModelId],
        compute: impl FnOnce(&[(ModelId, LedgerEntry)]) -> Figures,
    ) -> Figures {
        let mut key_models = models.to_vec();
        key_models.sort_by(|a, b| a.0.cmp(&b.0));
        let key = (currency, discount_rate.to_bits(), key_models);
        if let Some(found) = self.figures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return found.clone();
        }
        let wanted: std::collections::HashSet<&ModelId> = models.iter().collect();
        let mine: Vec<(ModelId, LedgerEntry)> =
            self.entries.iter().filter(|(model, _)| wanted.contains(model)).cloned().collect();
        let figures = compute(&mine);
        self.figures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, figures.clone());
        figures
    }
}

impl BusinessData {
    /// One model's figures, computed once per copy.
    pub fn model_figures(
        &self,
        currency: ReportCurrency,
        discount_rate: f64,
        model: &ModelId,
        compute: impl FnOnce(&[LedgerEntry]) -> Result<RoiFigures, String>,
    ) -> Result<RoiFigures, String> {
        let key = (currency, discount_rate.to_bits(), model.clone());
        if let Some(found) = self.model_figures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key) {
            return found.clone();
        }
        let mine: Vec<LedgerEntry> =
            self.entries.iter().filter(|(owner, _)| owner == model).map(|(_, entry)| entry.clone()).collect();
        let figures = compute(&mine);
        self.model_figures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(key, figures.clone());
        figures
    }
}

/// The cached copy and the version it was read at.
pub type BusinessCache = Arc<Mutex<Option<(Version, Arc<BusinessData>)>>>;

impl Store {
    async fn business_version(&self) -> DomainResult<Version> {
        Ok(sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events WHERE kind = 'business'),
                    (SELECT COUNT(*) FROM ledger_entries), (SELECT COUNT(*) FROM kpis),
                    (SELECT COUNT(*) FROM kpi_values)",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    /// The business data, read again only when a write changed it.
    pub async fn business_data(&self) -> DomainResult<Arc<BusinessData>> {
        let version = self.business_version().await?;
        if let Some((cached, data)) = &*self.business.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
            && *cached == version
        {
            return Ok(data.clone());
        }
        let entries = self.all_ledger_entries().await?;
        let kpis = self.kpis(None, None).await?;
        let mut values: HashMap<String, Vec<KpiValue>> = HashMap::new();
        for (kpi_id, value) in self.kpi_values(None).await? {
            values.entry(kpi_id).or_default().push(value);
        }
        let data = Arc::new(BusinessData { entries, kpis, values, ..BusinessData::default() });
        *self.business.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((version, data.clone()));
        Ok(data)
    }
}
