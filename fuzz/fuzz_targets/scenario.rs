//! Scenario files: `scenario::parse`, then `plan` (mock_cxone::fuzzing::scenario).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mock_cxone::fuzzing::scenario(data));
