//! Partition templates (D4): parse, render, keys the lake accepts (mock_cxone::fuzzing::partition_template).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| mock_cxone::fuzzing::partition_template(data));
