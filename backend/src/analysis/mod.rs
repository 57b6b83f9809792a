//! Pure, benchmarked maths: no I/O, no clock.

pub mod column;
pub mod cores;
pub mod drift;
pub mod fairness;
pub mod performance;
pub mod quality;
pub mod rollups;
pub mod sketch;
pub mod sort;
