//! Reusable pieces of the console.

mod badges;
mod form;
mod states;

pub use badges::{RiskBadge, StageBadge};
pub use form::{FieldError, FormAlert, field_message};
pub use states::{EmptyState, ErrorState, Loading};
