//! Reusable pieces of the console.

mod badges;
mod chart;
mod form;
mod health;
mod sparkline;
mod states;

pub use badges::{RiskBadge, StageBadge};
pub use chart::{Annotation, MetricChart, Statistic, TimeRange, Window};
pub use form::{FieldError, FormAlert, field_message};
pub use health::{ConnectionIndicator, HealthBadge, KeyNumbers, status_class};
pub use sparkline::Sparkline;
pub use states::{EmptyState, ErrorState, Loading};
