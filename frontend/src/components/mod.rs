//! Reusable pieces of the console.

mod badges;
mod chart;
mod form;
mod states;

pub use badges::{RiskBadge, StageBadge};
pub use chart::{MetricChart, Statistic, TimeRange};
pub use form::{FieldError, FormAlert, field_message};
pub use states::{EmptyState, ErrorState, Loading};
