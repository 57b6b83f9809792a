//! One component per route.

mod model;
mod models;
mod new_model;
mod not_found;

pub use model::ModelPage;
pub use models::ModelsPage;
pub use new_model::NewModelPage;
pub use not_found::NotFoundPage;
