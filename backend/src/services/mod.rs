//! Domain operations, one module per workflow. Each applies the rules from `shared` and
//! runs as one unit of work in the store (the change, its audit entry and its event in
//! one transaction); route handlers and background jobs both call them.

pub mod changes;
pub mod deployments;
pub mod evidence;
pub mod exchange_rates;
pub mod incidents;
pub mod kpis;
pub mod ledger;
pub mod registry;
pub mod reports;
