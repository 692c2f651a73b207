//! Helpers shared by the integration tests and the benchmark examples.

pub mod load;
