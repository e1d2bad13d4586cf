//! Fuzz target: see casebot::fuzzing::check_order_json for the property it holds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casebot::fuzzing::check_order_json(data));
