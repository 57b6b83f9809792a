//! One component per route.

mod account;
mod alerting;
mod audit;
mod incidents;
mod integrations;
mod login;
mod model;
mod models;
mod new_model;
mod not_found;
mod overview;
mod runbooks;
mod setup;
mod tokens;
mod users;

pub use account::AccountPage;
pub use alerting::AlertsPage;
pub use audit::AuditPage;
pub use incidents::{IncidentPage, IncidentStatsLine, IncidentsPage};
pub use integrations::IntegrationsPage;
pub use login::LoginPage;
pub use model::{DriftPage, ModelPage};
pub use models::ModelsPage;
pub use new_model::NewModelPage;
pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
pub use runbooks::RunbooksPage;
pub use setup::SetupPage;
pub use tokens::TokensPage;
pub use users::UsersPage;
