//! Data-lake bucket names and keys: an accepted key maps inside its bucket (mock_cxone::fuzzing::lake_key).
#![no_main]

use std::sync::LazyLock;

use mock_cxone::app::App;

/// One mock state for the whole run, in this crate's target dir (wiped at start): only its
/// data-dir layout is used, no listener.
static APP: LazyLock<App> = LazyLock::new(|| {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/lake-key-app");
    mock_cxone::fuzzing::scratch_app(&dir).expect("a scratch mock state for the lake_key target")
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| mock_cxone::fuzzing::lake_key(&APP, data));
