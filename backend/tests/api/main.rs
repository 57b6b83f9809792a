//! Backend integration tests: one binary; each test starts the real application on
//! port 0 against a fresh database, once on SQLite and once on PostgreSQL.

mod helpers;

mod access;
mod analysis;
mod audit;
mod auth;
mod business;
mod changes;
mod errors;
mod incidents;
mod live;
mod models;
mod monitoring;
mod otlp;
mod platform;
mod telemetry;
mod versions;
mod workflow;
