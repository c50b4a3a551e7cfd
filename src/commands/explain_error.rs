//! `kwi-lint explain-error`: the known messages in a log (the catalogue and
//! its matching are `crate::error_messages`).

use std::path::PathBuf;

use super::args::AnswerFormat;
use super::fail;
use crate::rules;

pub fn run(files: &[PathBuf], format: AnswerFormat) -> i32 {
    use std::io::Read;
    // Streamed line by line: a 1 GB log costs a line of memory. Files may be
    // pipes (`<(kubectl logs …)`); each ends with a line break.
    let mut input: Box<dyn Read> = Box::new(std::io::empty());
    if files.is_empty() {
        input = Box::new(std::io::stdin());
    }
    for f in files {
        match std::fs::File::open(f) {
            Ok(file) => input = Box::new(input.chain(file).chain(&b"\n"[..])),
            Err(e) => return fail(format!("cannot read {}: {e}", f.display())),
        }
    }
    let rules = rules::load(&[] as &[PathBuf]).unwrap_or_default();
    let log = std::io::BufReader::with_capacity(1 << 16, input);
    let explained = match format {
        AnswerFormat::Text => crate::error_messages::explain_reader(log, &rules)
            .map(|(out, found)| (crate::escape::report(&out), found)),
        AnswerFormat::Json => crate::error_messages::explain_json(log, &rules),
    };
    let (out, found) = match explained {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot read the log: {e}")),
    };
    if !super::print_out(&out) {
        return 2;
    }
    if found {
        0
    } else {
        1
    }
}
