//! Reusable pieces of the console.

mod badges;
mod chart;
mod drift_charts;
mod form;
mod health;
mod markdown;
mod sparkline;
mod states;

pub use badges::{DriftBadge, RiskBadge, StageBadge};
pub use chart::{Annotation, MetricChart, Statistic, TimeRange, Window};
pub use drift_charts::{HistogramOverlay, ScoreHistory, format_score};
pub use form::{FieldError, FormAlert, TextField, field_message};
pub use health::{ConnectionIndicator, HealthBadge, KeyNumbers, status_class};
pub use markdown::Markdown;
pub use sparkline::Sparkline;
pub use states::{EmptyState, ErrorState, Loading};
