//! parse → classify → every rule → every renderer, on arbitrary bytes named
//! as YAML or JSON. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kwi_lint::fuzz_one(data);
});
