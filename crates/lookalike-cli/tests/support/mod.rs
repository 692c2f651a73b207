//! Helpers shared by the integration tests and the benchmark examples.

pub mod browser;
pub mod load;
pub mod server;
