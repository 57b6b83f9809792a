//! Reusable pieces of the console.

mod badges;
mod chart;
mod csv;
mod drift_charts;
mod form;
mod health;
mod markdown;
mod model_select;
mod sparkline;
mod states;
mod table;

pub use badges::{ChangeRiskBadge, ChangeStatusBadge, DriftBadge, EvidenceBadge, RiskBadge, StageBadge};
pub use chart::{Annotation, MetricChart, Statistic, TimeRange, Window};
pub use csv::{CsvDownload, csv_text};
pub use drift_charts::{HistogramOverlay, ScoreHistory, format_score};
pub use form::{FieldError, FormAlert, TextField, chosen_file, field_message, local_error};
pub use health::{ConnectionIndicator, HealthBadge, KeyNumbers, status_class};
pub use markdown::Markdown;
pub use model_select::{ModelSelect, use_models};
pub use sparkline::Sparkline;
pub use states::{EmptyState, ErrorState, Loading, loaded};
pub use table::{DataTable, Pager};
