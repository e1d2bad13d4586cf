//! Fuzz target: see casebot::fuzzing::check_custom_id for the property it holds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casebot::fuzzing::check_custom_id(data));
