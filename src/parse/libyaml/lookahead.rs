//! The scanner's look-ahead: libyaml's decoded buffer, read in place.
//!
//! libyaml (and go-yaml) decode the input into a buffer of characters a chunk
//! at a time and reject characters YAML does not allow as each chunk is
//! decoded. The port kept that as a queue of `char`s, which cost a quarter of
//! a parse. Here the input is already UTF-8, so the look-ahead is a window of
//! it: `checked` says how far characters were decoded and accepted, and a
//! character is read from the text when the scanner asks for it. Errors come
//! at the same moments as before: when a refill meets the character.

/// A character the input holds that YAML does not allow, and its byte offset.
pub(crate) struct Disallowed {
    pub offset: usize,
    pub ch: char,
}

pub(crate) struct Lookahead<'a> {
    input: &'a str,
    /// Byte offset of the first character of the window.
    pos: usize,
    /// Byte offset up to which characters were checked.
    checked: usize,
    /// Characters in `pos..checked`.
    len: usize,
}

/// Bytes of the UTF-8 character that starts with `b`.
fn width(b: u8) -> usize {
    match b {
        0..=0x7f => 1,
        0x80..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// A printable ASCII character or a line feed: allowed, one byte.
#[inline(always)]
fn is_plain_ascii(b: u8) -> bool {
    (0x20..0x7f).contains(&b) | (b == b'\n')
}

/// The characters libyaml and go-yaml accept in a stream (YAML 1.1 printable
/// set plus tab and line breaks).
fn is_allowed(ch: char) -> bool {
    matches!(ch,
        '\x09' | '\x0A' | '\x0D' | '\x20'..='\x7E' | '\u{85}'
        | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

impl<'a> Lookahead<'a> {
    pub fn new(input: &'a str) -> Self {
        Lookahead {
            input,
            pos: 0,
            checked: 0,
            len: 0,
        }
    }

    pub fn reset(&mut self, input: &'a str) {
        *self = Lookahead::new(input);
    }

    /// Characters available.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether every character of the input has been checked.
    pub fn at_end(&self) -> bool {
        self.checked >= self.input.len()
    }

    /// Checks characters until `want` are available or the input ends.
    #[inline(never)]
    pub fn fill(&mut self, want: usize) -> Result<(), Disallowed> {
        let bytes = self.input.as_bytes();
        let (mut at, mut len) = (self.checked, self.len);
        let result = loop {
            if len >= want || at >= bytes.len() {
                break Ok(());
            }
            // Sixteen plain ASCII characters are checked at once (no early
            // exit, so the compiler can use vector instructions).
            if want - len >= 16 {
                if let Some(chunk) = bytes.get(at..at + 16) {
                    if chunk.iter().fold(true, |ok, &b| ok & is_plain_ascii(b)) {
                        at += 16;
                        len += 16;
                        continue;
                    }
                }
            }
            let b = bytes[at];
            if is_plain_ascii(b) {
                at += 1;
                len += 1;
                continue;
            }
            let ch = self.input[at..].chars().next().unwrap_or('\0');
            if !is_allowed(ch) {
                break Err(Disallowed { offset: at, ch });
            }
            at += ch.len_utf8();
            len += 1;
        };
        (self.checked, self.len) = (at, len);
        result
    }

    /// The character `k` places ahead, if available.
    #[inline(always)]
    pub fn get(&self, k: usize) -> Option<char> {
        if k >= self.len {
            return None;
        }
        let bytes = self.input.as_bytes();
        let mut at = self.pos;
        for _ in 0..k {
            at += width(bytes[at]);
        }
        let b = bytes[at];
        if b < 0x80 {
            Some(b as char)
        } else {
            self.input[at..].chars().next()
        }
    }

    /// How many checked characters from here come before one that `stops`
    /// (tested on bytes: a run is ASCII when `stops` takes every byte of
    /// 0x80 and above), leaving at least `keep` checked characters after them.
    #[inline(always)]
    fn run(&self, keep: usize, stops: impl Fn(u8) -> bool) -> usize {
        let bytes = &self.input.as_bytes()[self.pos..];
        let limit = self.len.saturating_sub(keep).min(bytes.len());
        bytes[..limit]
            .iter()
            .position(|&b| stops(b))
            .unwrap_or(limit)
    }

    /// Ordinary ASCII text of a plain scalar (printable, no blank, `:` or, in
    /// flow context, flow indicator), leaving two checked characters.
    pub fn plain_run(&self, flow: bool) -> usize {
        self.run(2, |b| {
            !(0x21..=0x7e).contains(&b)
                || b == b':'
                || flow && matches!(b, b',' | b'?' | b'[' | b']' | b'{' | b'}')
        })
    }

    /// Ordinary ASCII text of a quoted scalar (printable, no blank, quote or
    /// backslash), leaving two checked characters.
    pub fn quoted_run(&self) -> usize {
        self.run(2, |b| {
            !(0x21..=0x7e).contains(&b) || matches!(b, b'\'' | b'"' | b'\\')
        })
    }

    /// Spaces (indentation, taken at once rather than one at a time).
    pub fn space_run(&self) -> usize {
        self.run(0, |b| b != b' ')
    }

    /// ASCII that is not a line break (the rest of a comment or of a block
    /// scalar's line).
    pub fn line_run(&self) -> usize {
        self.run(0, |b| b >= 0x80 || b == b'\n' || b == b'\r')
    }

    /// The next `n` characters, which a `*_run` said are ASCII.
    pub fn ascii_ahead(&self, n: usize) -> &'a str {
        self.input.get(self.pos..self.pos + n).unwrap_or("")
    }

    /// Consumes `n` characters that a `*_run` said are ASCII.
    pub fn skip_ascii(&mut self, n: usize) {
        self.pos += n;
        self.len -= n;
    }

    #[inline(always)]
    pub fn front(&self) -> Option<char> {
        self.get(0)
    }

    #[inline(always)]
    pub fn pop_front(&mut self) -> Option<char> {
        let ch = self.front()?;
        self.pos += ch.len_utf8();
        self.len -= 1;
        Some(ch)
    }
}
