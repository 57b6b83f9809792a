//! Pure, benchmarked maths: no I/O, no clock.

pub mod sketch;
