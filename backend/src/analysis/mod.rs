//! Pure, benchmarked maths: no I/O, no clock.

pub mod drift;
pub mod rollups;
pub mod sketch;
pub mod sort;
