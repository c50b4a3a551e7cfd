//! One escaping function for everything a scanned file can put on a
//! screen: object names, subjects, file names, messages, snippets. A name
//! such as `"web\n::error::x\e[2J"` must not start a GitHub workflow
//! command, clear a terminal or reorder text (Trojan Source bidi controls).

use std::borrow::Cow;

/// Characters shown as `\u{…}`: C0 and C1 controls (newline and tab
/// included), DEL, bidi embeddings, overrides, isolates and marks, and
/// zero-width or invisible formatting characters.
pub fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

fn escape_where(s: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    // Nearly every message and fix needs nothing: checked before a copy.
    if !any_escaped(s, &keep) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) && !keep(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Whether `s` has a character to escape that `keep` does not keep: only
/// the characters that start with one of a few bytes are decoded (a
/// report's ✓, ✗ and → start with 0xE2, but so do the invisible U+200B…).
fn any_escaped(s: &str, keep: &impl Fn(char) -> bool) -> bool {
    // Printable ASCII needs nothing (nearly every message), nor do line
    // breaks where they are kept: 32 bytes at a time are checked without
    // stopping early, which the compiler vectorises, and only a chunk with
    // another byte is looked at byte by byte (a graph table's lines each
    // hold a few ✓ or →: the rest of the line is skipped 32 bytes at once).
    let newlines = keep('\n');
    let plain = |b: u8| matches!(b, b' '..=b'~') || (newlines && b == b'\n');
    s.as_bytes().chunks(32).enumerate().any(|(k, c)| {
        !c.iter().fold(true, |ok, b| ok & plain(*b))
            && c.iter()
                .enumerate()
                .any(|(j, b)| byte_escaped(s, k * 32 + j, *b, keep))
    })
}

/// Whether the character that byte `b` at `i` of `s` starts (if it starts
/// one) is escaped and not kept.
fn byte_escaped(s: &str, i: usize, b: u8, keep: &impl Fn(char) -> bool) -> bool {
    match b {
        // C0 controls and DEL.
        0..=0x1F | 0x7F => !keep(char::from(b)),
        // The first bytes of U+0080–00BF (C1 controls), U+0600–063F
        // (U+061C), U+2000–2FFF (U+200B…206F) and U+F000–FFFF (U+FEFF,
        // U+FFF9…FFFB): a character starts there, so `i` is a boundary.
        0xC2 | 0xD8 | 0xE2 | 0xEF => s[i..]
            .chars()
            .next()
            .is_some_and(|c| needs_escape(c) && !keep(c)),
        _ => false,
    }
}

/// A scanned value on one line: every control and invisible character escaped.
pub fn text(s: &str) -> Cow<'_, str> {
    escape_where(s, |_| false)
}

/// Text of ours that may span lines (a fix, a YAML block): line breaks
/// stay, everything else is escaped as by `text`.
pub fn lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c == '\n')
}

/// A whole report of a question command: `lines`, and a line that starts
/// with `::` (a GitHub workflow command) gets a backslash before it.
pub fn report(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    // Writing to a vector cannot fail, and escaped text is UTF-8.
    let _ = write_report(s, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// `report` of a string of our own making, which is handed back as it is
/// when nothing in it needs escaping (no copy of a graph table's parts).
pub fn report_owned(s: String) -> String {
    if any_escaped(&s, &|c| c == '\n') || starts_command(&s) {
        report(&s)
    } else {
        s
    }
}

/// Whether a line of `s` starts with `::` after its leading white space.
fn starts_command(s: &str) -> bool {
    // Line breaks are found with memchr; a line rarely starts with a space.
    s.split('\n')
        .any(|line| line.trim_start().starts_with("::"))
}

/// `report`, written to `out` a line at a time: a question command's
/// report can be megabytes (graph's table of 20,000 files is 7 MB), and a
/// copy of it would be as big.
pub fn write_report(s: &str, out: &mut impl std::io::Write) -> std::io::Result<()> {
    for line in s.split_inclusive('\n') {
        let escaped = lines(line);
        if escaped.trim_start().starts_with("::") {
            out.write_all(b"\\")?;
        }
        out.write_all(escaped.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_bidi_and_zero_width() {
        assert_eq!(
            text("web\n::error::x\u{1b}[2J"),
            "web\\u{a}::error::x\\u{1b}[2J"
        );
        assert_eq!(
            text("a\u{202e}b\u{2066}c\u{200b}d\r\u{7}"),
            "a\\u{202e}b\\u{2066}c\\u{200b}d\\u{d}\\u{7}"
        );
        assert!(matches!(text("plain name-1"), Cow::Borrowed(_)));
        // The printable-ASCII fast path and its edges.
        assert!(matches!(text(" ~"), Cow::Borrowed(_)));
        assert!(matches!(lines("a:\n  b\n"), Cow::Borrowed(_)));
        assert_eq!(text("a\nb"), "a\\u{a}b");
        assert_eq!(text("a\u{7f}\tb"), "a\\u{7f}\\u{9}b");
        assert_eq!(lines("a\r\nb"), "a\\u{d}\nb");
        assert_eq!(lines("a:\n  b\u{1b}"), "a:\n  b\\u{1b}");
        assert_eq!(
            report("ok\n::error::x\n  ::warning::y\n"),
            "ok\n\\::error::x\n\\  ::warning::y\n"
        );
    }

    #[test]
    fn the_byte_scan_finds_what_decoding_every_character_finds() {
        // Every character, alone and between ✓ and → (both start 0xE2).
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("✓{c}→")] {
                let none = |_: char| false;
                let newline = |c: char| c == '\n';
                assert_eq!(any_escaped(&s, &none), needs_escape(c), "{c:?}");
                assert_eq!(any_escaped(&s, &newline), needs_escape(c) && c != '\n');
            }
        }
    }

    #[test]
    fn an_owned_report_is_the_report() {
        for text in [
            "ok ✓ → –\n  plain\n",
            "a\n  ::error::x\u{1b}[2J\nb\u{202e}c\n::warning\n\tt\r\nend",
            "x::y\n\u{3000}::z\n",
            "a::b\n",
            "::",
            "",
            "ok\n\u{200b}\n",
        ] {
            assert_eq!(report_owned(text.to_string()), report(text), "{text:?}");
        }
    }

    #[test]
    fn a_report_written_in_parts_is_the_report() {
        let text = "a\n  ::error::x\u{1b}[2J\nb\u{202e}c\n::warning\n\tt\r\nend";
        let mut whole = Vec::new();
        write_report(text, &mut whole).unwrap();
        assert_eq!(String::from_utf8(whole).unwrap(), report(text));
        // Cut at line breaks, as `graph::write_table` hands it on.
        let mut parts = Vec::new();
        for part in text.split_inclusive('\n') {
            write_report(part, &mut parts).unwrap();
        }
        assert_eq!(String::from_utf8(parts).unwrap(), report(text));
    }
}
