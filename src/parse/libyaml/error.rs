pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A position in the input: `index` in bytes, `line` and `column` 0-based
/// (the column counts characters).
#[derive(Copy, Clone, Default, Debug, PartialEq, Eq)]
pub struct Mark {
    pub index: u64,
    pub line: u64,
    pub column: u64,
}

/// A reader, scanner or parser error: what went wrong and where.
#[derive(Debug)]
pub struct Error {
    pub problem: &'static str,
    /// What was being parsed ("while scanning a plain scalar"), or "".
    pub context: &'static str,
    /// Byte offset of the problem in the input.
    pub offset: u64,
}

impl Error {
    pub(crate) fn reader(problem: &'static str, offset: usize, _value: i32) -> Self {
        Error {
            problem,
            context: "",
            offset: offset as u64,
        }
    }

    pub(crate) fn scanner(
        context: &'static str,
        _context_mark: Mark,
        problem: &'static str,
        problem_mark: Mark,
    ) -> Self {
        Error {
            problem,
            context,
            offset: problem_mark.index,
        }
    }

    pub(crate) fn parser(
        context: &'static str,
        _context_mark: Mark,
        problem: &'static str,
        problem_mark: Mark,
    ) -> Self {
        Self::scanner(context, _context_mark, problem, problem_mark)
    }
}
