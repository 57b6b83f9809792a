//! One component per route.

mod account;
mod audit;
mod login;
mod model;
mod models;
mod new_model;
mod not_found;
mod overview;
mod setup;
mod tokens;
mod users;

pub use account::AccountPage;
pub use audit::AuditPage;
pub use login::LoginPage;
pub use model::{DriftPage, ModelPage};
pub use models::ModelsPage;
pub use new_model::NewModelPage;
pub use not_found::NotFoundPage;
pub use overview::OverviewPage;
pub use setup::SetupPage;
pub use tokens::TokensPage;
pub use users::UsersPage;
