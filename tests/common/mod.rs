//! Helpers shared by the end-to-end test crates: run the built binary, make a
//! scratch folder, compare against a golden file.
#![allow(dead_code)] // each test crate uses its own subset

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kwi-lint"));
    c.env_remove("NO_COLOR");
    c
}

pub fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run kwi-lint")
}

pub fn run_stdin(args: &[&str], input: &str) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("wait")
}

/// An empty folder under the target directory, named for the test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

/// One line per finding of a `--format json` run, as `line` formats it.
pub fn findings_as(o: &Output, line: impl Fn(&serde_json::Value) -> String) -> Vec<String> {
    json(o)["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(line)
        .collect()
}

/// Compares with tests/golden/NAME; `UPDATE_GOLDEN=1` rewrites it instead.
pub fn golden(name: &str, actual: &str) {
    let path = format!("tests/golden/{name}");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b);
        panic!("{path} differs (first differing line: {first:?}); rerun the test with UPDATE_GOLDEN=1 and review the diff.\n--- actual ---\n{actual}");
    }
}
