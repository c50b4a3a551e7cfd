//! One `SourceFile` per input: the text plus a line index. It serves the node
//! tree, miette, JSON and every other format, so all of them agree on
//! positions (miette's own sources rescan the file for every label).

use std::sync::{Arc, OnceLock};

/// Bytes per block of the column index.
const BLOCK: usize = 256;

/// Up to this size a position is counted from the text's start rather than
/// looked up in a line index: most files of a run are this small and have
/// a few findings, and a run with findings in 9,000 files kept 2 MB of
/// indexes for them until the end.
const SCAN_MAX: usize = 16 * 1024;

/// Index of a file in the run's file table.
pub type FileId = u32;

/// A byte range into a `SourceFile`'s text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end.max(start) as u32,
        }
    }
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// A span in a file: where a finding or a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub file: FileId,
    pub span: Span,
}

/// 1-based line and column; the column counts characters, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Position {
    /// `name:line:column`, in a string of its final size: `format!` grows
    /// its string as it writes, copying a long path again.
    pub fn in_file(self, name: &str) -> String {
        // Two colons and two u32s of at most ten digits.
        let mut s = String::with_capacity(name.len() + 22);
        s.push_str(name);
        for n in [self.line, self.column] {
            s.push(':');
            push_decimal(&mut s, n);
        }
        s
    }
}

/// `n` in decimal, without the formatting machinery: `graph` writes a
/// location for every workload, KSA, binding and break of a scan.
fn push_decimal(s: &mut String, n: u32) {
    let mut digits = [0u8; 20];
    s.extend(
        decimal(n as u64, &mut digits)
            .iter()
            .map(|d| char::from(*d)),
    );
}

/// The ASCII digits of `n`, written at the end of `digits`.
pub fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[i..]
}

#[derive(Debug)]
pub struct SourceFile {
    /// Path as shown in every output (relative to the working directory when below it).
    pub name: String,
    /// The text as read. Invalid UTF-8 is replaced for display only.
    pub text: String,
    /// Built on the first position asked for: most files of a run have no
    /// finding and never need it. Boxed: every file of a run has one (16
    /// bytes where two vectors in their cells took 64).
    index: OnceLock<Box<LineIndex>>,
}

#[derive(Debug)]
struct LineIndex {
    /// Byte offset where each line starts. Line 1 starts after a UTF-8 BOM.
    line_starts: Box<[u32]>,
    /// UTF-8 continuation bytes before each `BLOCK`-byte block, built on the
    /// first column asked for past a block of a line: a column is then a
    /// subtraction and a scan of at most one block, not a count from the
    /// line's start (a minified one-line JSON file has 10⁵ findings on one line).
    continuation_before: OnceLock<Box<[u32]>>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: String) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            name: name.into(),
            text,
            index: OnceLock::new(),
        })
    }

    fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| {
            let bytes = self.text.as_bytes();
            let mut starts = vec![self.bom_len() as u32];
            // A line ends at LF, CRLF or a lone CR (old Mac files), as YAML says.
            starts.extend(
                bytes
                    .iter()
                    .enumerate()
                    .filter(|(i, b)| {
                        **b == b'\n' || **b == b'\r' && bytes.get(i + 1) != Some(&b'\n')
                    })
                    .map(|(i, _)| i as u32 + 1),
            );
            Box::new(LineIndex {
                line_starts: starts.into_boxed_slice(),
                continuation_before: OnceLock::new(),
            })
        })
    }

    /// Byte offset where each line starts.
    fn line_starts(&self) -> &[u32] {
        &self.index().line_starts
    }

    /// Length of a UTF-8 BOM at the start of the text (0 or 3).
    pub fn bom_len(&self) -> usize {
        if self.text.starts_with('\u{feff}') {
            3
        } else {
            0
        }
    }

    /// 0-based line index containing `offset`.
    fn line_index(&self, offset: usize) -> usize {
        match self.line_starts().binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    pub fn position(&self, offset: usize) -> Position {
        let offset = offset.min(self.text.len());
        let (line, start) = if self.index.get().is_none() && self.text.len() <= SCAN_MAX {
            self.scan_line(offset)
        } else {
            let line = self.line_index(offset);
            (line, self.line_starts()[line] as usize)
        };
        let start = start.min(offset);
        let column = if offset - start <= BLOCK {
            self.text
                .get(start..offset)
                .map(|s| s.chars().count())
                .unwrap_or(offset - start)
        } else {
            (offset - start)
                - (self.continuations_before(offset) - self.continuations_before(start))
        };
        Position {
            line: line as u32 + 1,
            column: column as u32 + 1,
        }
    }

    /// 0-based line containing `offset` and where it starts, counted from the
    /// text's start: what the line index says, without building it.
    fn scan_line(&self, offset: usize) -> (usize, usize) {
        let bytes = self.text.as_bytes();
        let before = &bytes[..offset];
        // Counted over the whole slice, in vector steps; only a text with
        // CRs (a lone CR ends a line too) is read byte by byte.
        if memchr::memchr(b'\r', before).is_none() {
            let line = count_byte(before, b'\n');
            let start = memchr::memrchr(b'\n', before);
            return (line, start.map_or(self.bom_len(), |i| i + 1));
        }
        let (mut line, mut start) = (0, self.bom_len());
        for (i, b) in before.iter().enumerate() {
            if *b == b'\n' || *b == b'\r' && bytes.get(i + 1) != Some(&b'\n') {
                line += 1;
                start = i + 1;
            }
        }
        (line, start)
    }

    /// UTF-8 continuation bytes in `text[..offset]`.
    fn continuations_before(&self, offset: usize) -> usize {
        let bytes = self.text.as_bytes();
        let index = self.index().continuation_before.get_or_init(|| {
            let mut acc = 0u32;
            bytes
                .chunks(BLOCK)
                .map(|c| {
                    let before = acc;
                    acc += c.iter().filter(|b| (**b & 0xC0) == 0x80).count() as u32;
                    before
                })
                .collect()
        });
        // The end of a text whose length is a multiple of BLOCK lies past the
        // last block's entry: it is counted from that block's start.
        let block = (offset / BLOCK).min(index.len().saturating_sub(1));
        let base = index.get(block).copied().unwrap_or(0) as usize;
        base + bytes[block * BLOCK..offset.min(bytes.len())]
            .iter()
            .filter(|b| (**b & 0xC0) == 0x80)
            .count()
    }

    /// Byte range of the (1-based) line `line`, without its line break.
    pub fn line_span(&self, line: usize) -> (usize, usize) {
        let starts = self.line_starts();
        let i = line.saturating_sub(1).min(starts.len() - 1);
        let start = starts[i] as usize;
        let mut end = starts
            .get(i + 1)
            .map(|s| *s as usize - 1)
            .unwrap_or(self.text.len());
        if end > start && self.text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start, end.max(start))
    }

    pub fn line_count(&self) -> usize {
        self.line_starts().len()
    }

    pub fn slice(&self, span: Span) -> &str {
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// A `SourceFile` shared with miette. Contexts are cut with the line index,
/// never by rescanning the text. `display` is the text with terminal control
/// characters replaced byte for byte, when the file has any.
#[derive(Clone, Debug)]
pub struct SharedSource(pub Arc<SourceFile>, pub Option<Arc<String>>);

impl SharedSource {
    pub fn new(file: Arc<SourceFile>) -> SharedSource {
        let display = has_controls(&file.text).then(|| Arc::new(strip_controls(&file.text)));
        SharedSource(file, display)
    }
}

/// Controls, bidi and zero-width characters (not line breaks and tabs,
/// which the snippet lays out).
/// How many bytes of `bytes` are `byte`: counted in byte lanes, 255 bytes
/// at a time (what a `filter().count()` widens to 64-bit lanes first).
fn count_byte(bytes: &[u8], byte: u8) -> usize {
    bytes
        .chunks(255)
        .map(|c| c.iter().map(|b| u8::from(*b == byte)).sum::<u8>() as usize)
        .sum()
}

fn is_unsafe_control(c: char) -> bool {
    crate::escape::needs_escape(c) && !matches!(c, '\n' | '\r' | '\t')
}

fn has_controls(text: &str) -> bool {
    text.chars().any(is_unsafe_control) || has_lone_cr(text)
}

fn has_lone_cr(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, c)| *c == b'\r' && b.get(i + 1) != Some(&b'\n'))
}

/// Replaces each control character by as many `?` as it has bytes, and a
/// lone CR line break by LF (miette breaks lines at LF only), so that every
/// byte offset stays valid.
fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' && chars.peek() != Some(&'\n') {
            out.push('\n');
        } else if is_unsafe_control(c) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

impl miette::SourceCode for SharedSource {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let file = &self.0;
        let len = file.text.len();
        let start = span.offset();
        let end = (start + span.len()).min(len);
        if start > len {
            return Err(miette::MietteError::OutOfBounds);
        }
        let first = file.line_index(start);
        let last = file.line_index(if end > start { end - 1 } else { end });
        let first_ctx = first.saturating_sub(context_lines_before);
        let last_ctx = (last + context_lines_after).min(file.line_count() - 1);
        // Line 1 starts at 0 for miette so that the BOM stays inside the data it counts.
        let ctx_start = if first_ctx == 0 {
            0
        } else {
            file.line_starts()[first_ctx] as usize
        };
        let ctx_end = file
            .line_starts()
            .get(last_ctx + 1)
            .map(|s| *s as usize)
            .unwrap_or(len);
        let text = self.1.as_deref().map(String::as_str).unwrap_or(&file.text);
        let data = &text.as_bytes()[ctx_start..ctx_end];
        // miette prints `file:line:column` from the span's own position.
        let column = file.position(start).column as usize - 1;
        let name = if has_controls(&file.name) {
            strip_controls(&file.name)
        } else {
            file.name.clone()
        };
        Ok(Box::new(miette::MietteSpanContents::new_named(
            name,
            data,
            (ctx_start, ctx_end - ctx_start).into(),
            first_ctx,
            column,
            last_ctx - first_ctx + 1,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_counted_as_a_filter_counts_them() {
        // Runs of the byte longer than a lane's 255, and lengths around it.
        for len in [0, 1, 254, 255, 256, 510, 511, 1000] {
            for text in [
                vec![b'\n'; len],
                (0..len)
                    .map(|i| if i % 3 == 0 { b'\n' } else { b'a' })
                    .collect(),
            ] {
                let want = text.iter().filter(|b| **b == b'\n').count();
                assert_eq!(count_byte(&text, b'\n'), want, "{len}");
            }
        }
    }

    #[test]
    fn a_location_in_a_file_is_name_line_column() {
        for (line, column) in [(1, 1), (9, 10), (10, 9), (123_456, 7), (u32::MAX, 0)] {
            let p = Position { line, column };
            assert_eq!(p.in_file("a:b.yaml"), format!("a:b.yaml:{line}:{column}"));
        }
    }

    #[test]
    fn positions_count_characters_and_skip_bom() {
        let f = SourceFile::new("a", "\u{feff}ab\r\nhé: x\n".to_string());
        assert_eq!(f.position(3), Position { line: 1, column: 1 });
        assert_eq!(f.position(4), Position { line: 1, column: 2 });
        // "x" on line 2: h(1) é(2, two bytes) :(3) space(4) x(5)
        let x = f.text.find('x').unwrap();
        assert_eq!(f.position(x), Position { line: 2, column: 5 });
        assert_eq!(f.line_span(1), (3, 5));
    }

    #[test]
    fn counting_from_the_start_agrees_with_the_line_index() {
        for text in [
            "\u{feff}ab\r\nhé: x\n",
            "a: 1\rb: 2\r\nc: 3\r",
            "\n\n\r\r\n\u{feff}é\n",
            "\u{feff}",
            "",
            "x",
            // No CR: lines counted over the whole slice at once.
            "\u{feff}a: 1\nb: é\n\nc",
            "\n\u{feff}\nx: ü\n",
            "a\n",
        ] {
            let scanned = SourceFile::new("a", text.to_string());
            let indexed = SourceFile::new("b", text.to_string());
            indexed.line_count();
            for offset in 0..=text.len() + 1 {
                assert_eq!(
                    scanned.position(offset),
                    indexed.position(offset),
                    "{text:?} at {offset}"
                );
            }
            assert!(scanned.index.get().is_none());
        }
    }

    #[test]
    fn a_lone_cr_ends_a_line() {
        let f = SourceFile::new("a", "a: 1\rb: 2\r\nc: 3".to_string());
        assert_eq!(f.position(5), Position { line: 2, column: 1 });
        assert_eq!(f.position(11), Position { line: 3, column: 1 });
        assert_eq!(f.line_span(1), (0, 4));
        assert_eq!(f.line_span(2), (5, 9));
    }

    /// Found by the fuzzer: the end of a text whose length is a multiple of
    /// the index's block size counted no character before it, and the column
    /// of a finding there underflowed.
    #[test]
    fn the_end_of_a_text_a_whole_number_of_blocks_long_has_its_column() {
        for blocks in [2, 3, SCAN_MAX / BLOCK + 4] {
            let len = blocks * BLOCK;
            let line: String = (0..len / 2)
                .map(|i| if i % 2 == 0 { "éa" } else { "a" })
                .collect();
            assert_eq!(line.len(), len);
            for text in [line.clone(), format!("x\n{}", &line[2..])] {
                let f = SourceFile::new("a", text.clone());
                let start = text.rfind('\n').map_or(0, |i| i + 1);
                let want = text[start..].chars().count() as u32 + 1;
                assert_eq!(f.position(len).column, want, "{blocks} blocks");
            }
        }
    }

    #[test]
    fn columns_on_long_lines_match_a_character_count() {
        let line: String = (0..3000)
            .map(|i| {
                if i % 7 == 0 {
                    'é'
                } else if i % 11 == 0 {
                    '世'
                } else {
                    'a'
                }
            })
            .collect();
        let text = format!("x\n{line}\n");
        let f = SourceFile::new("a", text.clone());
        for (off, _) in text.char_indices().step_by(37) {
            let start = text[..off].rfind('\n').map_or(0, |i| i + 1);
            let want = text[start..off].chars().count() as u32 + 1;
            assert_eq!(f.position(off).column, want, "offset {off}");
        }
    }
}
