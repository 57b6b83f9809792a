//! Drift monitoring of live models: references built from uploads or past windows
//! (`reference`), evaluations of the current window against them (`evaluation`), and
//! the scheduler that runs evaluations on each model's cadence (`scheduler`).

pub mod evaluation;
pub mod reference;
pub mod rows;
pub mod scheduler;
