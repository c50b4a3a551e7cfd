//! The question commands on arbitrary bytes: the Forbidden-message parser
//! (`why-forbidden`), `can-i` argument parsing and evaluation against the
//! same bytes as a scanned file, `explain-error`. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    kwi_lint::fuzz_question(data);
});
