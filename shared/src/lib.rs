//! Keel's vocabulary: the types and pure rules that the server enforces and the
//! console displays. Serde types and plain functions only — no I/O — so this crate
//! compiles for `wasm32-unknown-unknown` as well as for the server.

#[macro_use]
mod macros;

pub mod alerting;
pub mod audit;
pub mod auth;
pub mod changes;
pub mod drift;
pub mod error;
pub mod evidence;
pub mod health;
pub mod ids;
pub mod incidents;
pub mod kpis;
pub mod ledger;
pub mod live;
pub mod models;
pub mod monitoring;
pub mod reports;
pub mod telemetry;
pub mod validation;

pub use error::ErrorBody;
pub use ids::{ModelId, VersionId};
