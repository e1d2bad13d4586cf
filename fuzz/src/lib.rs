//! The properties the fuzz targets hold: the same file the integration suite's quick form runs.

#[path = "../../tests/it/fuzz_properties.rs"]
mod properties;

pub use properties::*;
