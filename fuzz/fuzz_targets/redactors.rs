//! Fuzz target: see casebot_fuzz::check_redactors for the property it holds.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| casebot_fuzz::check_redactors(data));
