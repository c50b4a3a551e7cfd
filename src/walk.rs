//! Discovery: a walk that honours .gitignore like ripgrep and ruff, handing
//! each file to the caller as it meets it (the caller parses while it walks).

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Folders never entered, whatever the ignore files say.
const SKIPPED_DIRS: &[&str] = &[".git", "node_modules", "vendor"];
const EXTENSIONS: &[&str] = &["yaml", "yml", "json", "jsonl", "ndjson"];

#[derive(Debug, Clone)]
pub struct Candidate {
    pub path: PathBuf,
    /// The path as shown in output.
    pub display: String,
    /// In a Helm chart's `templates/` folder.
    pub helm_chart: bool,
}

#[derive(Debug)]
pub struct WalkError {
    pub display: String,
    pub message: String,
}

pub struct WalkOptions<'a> {
    pub excludes: &'a GlobSet,
    pub no_ignore: bool,
}

pub fn build_globset(globs: &[String]) -> Result<GlobSet, String> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        // A bare name or folder glob matches anywhere below the root, as in .gitignore.
        let pattern = if g.contains('/') {
            g.trim_start_matches("./").to_string()
        } else {
            format!("**/{g}")
        };
        b.add(Glob::new(&pattern).map_err(|e| format!("bad glob `{g}`: {e}"))?);
        if !g.ends_with("/**") {
            let below = format!("{}/**", pattern.trim_end_matches('/'));
            b.add(Glob::new(&below).map_err(|e| format!("bad glob `{g}`: {e}"))?);
        }
    }
    b.build().map_err(|e| e.to_string())
}

/// `a/b/../c/./d` → `a/c/d`, without touching the file system (`..` at the
/// start stays).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if out
                    .components()
                    .next_back()
                    .is_some_and(|l| matches!(l, Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Path as shown in output: relative to the working directory when below it.
pub fn display_path(path: &Path) -> String {
    // A relative path of plain names (what a walk of `kwi-lint dir` yields)
    // is already what joining it to the working folder and taking that
    // folder off again gives: no four allocations per file for it.
    if let Some(s) = path.to_str().filter(|s| is_plain_relative(s)) {
        return crate::escape::text(s).into_owned();
    }
    static CWD: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let shown = CWD
        .get_or_init(|| std::env::current_dir().ok())
        .as_ref()
        .and_then(|cwd| {
            let abs = if path.is_absolute() {
                path.to_path_buf()
            } else {
                cwd.join(path)
            };
            abs.strip_prefix(cwd).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| path.to_path_buf());
    let s = shown.to_string_lossy().replace('\\', "/");
    // A file name can hold a line break or an escape sequence: shown escaped
    // in every output (globs in the config see the same escaped name).
    crate::escape::text(s.strip_prefix("./").unwrap_or(&s)).into_owned()
}

/// A relative path of names, none empty or `.`, without a backslash.
fn is_plain_relative(s: &str) -> bool {
    let b = s.as_bytes();
    // Each component starts after a `/` (or at 0) and must hold something
    // other than a lone `.`.
    let mut start = 0;
    for (i, &c) in b
        .iter()
        .enumerate()
        .chain(std::iter::once((b.len(), &b'/')))
    {
        match c {
            b'\\' => return false,
            b'/' => {
                let part = &b[start..i];
                if part.is_empty() || part == b"." {
                    return false;
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    true
}

fn is_helm_template(path: &Path) -> bool {
    // Nearly no path has such a folder: one search of its bytes before its
    // components are parsed, six times over, for every file walked.
    static TEMPLATES: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("templates"));
    let bytes = path.as_os_str().as_encoded_bytes();
    if TEMPLATES.find(bytes).is_none() {
        return false;
    }
    path.ancestors().skip(1).take(6).any(|dir| {
        dir.file_name().is_some_and(|n| n == "templates")
            && dir.parent().is_some_and(|p| p.join("Chart.yaml").is_file())
    })
}

/// File names kustomize recognises, in its order.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

fn has_lint_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
        // kustomize's third file name has no extension.
        || path
            .file_name()
            .is_some_and(|n| KUSTOMIZATION_FILES.iter().any(|k| n == *k))
}

/// Walks `roots`, handing each file to lint to `found` as it is met (the
/// caller parses them while the walk goes on), and returns the paths that
/// could not be walked, sorted. Files named explicitly are always linted.
pub fn discover(
    roots: &[PathBuf],
    opts: &WalkOptions,
    found: &mut dyn FnMut(Candidate),
) -> Vec<WalkError> {
    let mut errors = Vec::new();
    for root in roots {
        let meta = std::fs::metadata(root);
        match meta {
            Err(e) => errors.push(WalkError {
                display: display_path(root),
                message: format!("cannot read: {e}"),
            }),
            // A FIFO or device would block or never end: never read one.
            Ok(m) if !m.is_dir() && !m.is_file() => errors.push(WalkError {
                display: display_path(root),
                message: "not a regular file (a FIFO, socket or device); skipped".into(),
            }),
            Ok(m) if !m.is_dir() => found(Candidate {
                path: root.clone(),
                display: display_path(root),
                helm_chart: is_helm_template(root),
            }),
            Ok(_) => walk_folder(root, opts, found, &mut errors),
        }
    }
    errors.sort_by(|a: &WalkError, b| (&a.display, &a.message).cmp(&(&b.display, &b.message)));
    errors
}

/// Walks one folder on the calling thread (see `read_inputs` for why one):
/// its own listing of each folder, the ignore files looked for in it (see
/// `ignores`), never a symlink followed.
fn walk_folder(
    root: &Path,
    opts: &WalkOptions,
    found: &mut dyn FnMut(Candidate),
    errors: &mut Vec<WalkError>,
) {
    let ignores = (!opts.no_ignore).then(|| {
        let (ignores, bad) = crate::ignores::Ignores::new(root);
        errors.extend(bad.into_iter().map(|e| WalkError {
            display: display_path(error_path(&e).unwrap_or(root)),
            message: e.to_string(),
        }));
        ignores
    });
    let mut folders = vec![(root.to_path_buf(), crate::ignores::Chain::default())];
    while let Some((dir, chain)) = folders.pop() {
        let listing = match std::fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) => {
                errors.push(folder_error(&dir, &e));
                continue;
            }
        };
        let mut entries = Vec::new();
        for entry in listing {
            match entry.and_then(|e| Ok((e.file_type()?, e.file_name()))) {
                Ok(e) => entries.push(e),
                Err(e) => errors.push(folder_error(&dir, &e)),
            }
        }
        let chain = match &ignores {
            Some(ig) => ig.enter(&chain, &dir, |name| entries.iter().any(|(_, n)| n == name)),
            None => chain,
        };
        for (kind, name) in entries {
            let path = dir.join(&name);
            let skipped = match &ignores {
                Some(ig) => ig.skips(&chain, &path, kind.is_dir()),
                None => name.as_encoded_bytes().starts_with(b"."),
            };
            if skipped || excluded(root, &path, &name, kind.is_dir(), opts.excludes) {
                continue;
            }
            if kind.is_dir() {
                folders.push((path, chain.clone()));
            } else if kind.is_file() && has_lint_extension(&path) {
                found(Candidate {
                    display: display_path(&path),
                    helm_chart: is_helm_template(&path),
                    path,
                });
            }
        }
    }
}

/// Whether a path below a walked root is left out by name: a folder never
/// entered, or `--exclude` / `exclude:` (matched below the root, and as shown).
fn excluded(
    root: &Path,
    path: &Path,
    name: &std::ffi::OsStr,
    is_dir: bool,
    excludes: &GlobSet,
) -> bool {
    if is_dir && name.to_str().is_some_and(|n| SKIPPED_DIRS.contains(&n)) {
        return true;
    }
    if excludes.is_empty() {
        return false;
    }
    let rel = path.strip_prefix(root).unwrap_or(path);
    excludes.is_match(rel) || excludes.is_match(display_path(path))
}

/// The file an ignore-file error is about (it may be wrapped in a line number).
fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        _ => None,
    }
}

/// A folder that cannot be listed, named with the cause.
fn folder_error(dir: &Path, e: &std::io::Error) -> WalkError {
    WalkError {
        display: display_path(dir),
        message: format!("{}: {e}", dir.display()),
    }
}

/// Why a bounded read failed.
#[derive(Debug)]
pub enum ReadError {
    /// More than the limit (the size when known, else `limit + 1`).
    TooLarge(u64),
    /// A device, FIFO or folder: reading it could block or never end.
    NotRegular,
    Io(std::io::Error),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooLarge(n) => write!(f, "it is larger than the limit ({n} bytes or more)"),
            ReadError::NotRegular => {
                write!(f, "it is not a regular file (a device, FIFO or folder)")
            }
            ReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads at most `limit` bytes from a stream; more is `TooLarge`, found
/// after reading `limit + 1` bytes, never the whole stream.
pub fn read_stream(r: impl std::io::Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_stream_sized(r, limit, 0)
}

/// `read_stream` into a buffer of `expected` bytes (plus one, to see the end
/// without growing): every file's text is kept until the report, so its
/// buffer should be its size, not a doubling of it.
fn read_stream_sized(
    r: impl std::io::Read,
    limit: u64,
    expected: u64,
) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(expected.min(limit).saturating_add(1) as usize);
    r.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(limit + 1));
    }
    Ok(bytes)
}

/// Reads a regular file of at most `limit` bytes (a symlink is followed to
/// one); the size is checked before reading, and again while reading (a
/// file that grows).
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let f = open_without_blocking(path)?;
    let meta = f.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(meta.len()));
    }
    read_stream_sized(f, limit, meta.len())
}

/// Opens `path` for reading without waiting for a writer, as opening a FIFO
/// would: non-blocking, then stat the open file (one path lookup per file,
/// not two; reads of a regular file ignore the flag).
#[cfg(unix)]
fn open_without_blocking(path: &Path) -> Result<std::fs::File, ReadError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)
}

/// Elsewhere: stat before open, which a FIFO would block.
#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> Result<std::fs::File, ReadError> {
    if !std::fs::metadata(path).map_err(ReadError::Io)?.is_file() {
        return Err(ReadError::NotRegular);
    }
    std::fs::File::open(path).map_err(ReadError::Io)
}

/// `read_bounded`, as text (invalid UTF-8 is an error, as for rule and config files).
pub fn read_text_bounded(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|e| ReadError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_plain_relative_path_is_a_path_of_names() {
        let split = |s: &str| {
            !s.is_empty()
                && !s.starts_with('/')
                && !s.contains('\\')
                && s.split('/').all(|c| !c.is_empty() && c != ".")
        };
        for s in [
            "",
            "a",
            "a/b.yaml",
            "/a",
            "a/",
            "a//b",
            "./a",
            "a/./b",
            "a/.",
            ".",
            "..",
            "a/../b",
            ".a/b",
            "a/.b",
            "a\\b",
            "é/ü.yaml",
            "a/b/c/d.yml",
        ] {
            assert_eq!(is_plain_relative(s), split(s), "{s:?}");
        }
    }

    /// The files ripgrep's `ignore` walker yields with the settings kwi-lint
    /// walked with before it listed folders itself: the oracle.
    fn crate_walk(root: &Path, opts: &WalkOptions) -> Vec<String> {
        let excludes = opts.excludes.clone();
        let root_for_filter = root.to_path_buf();
        let walker = ignore::WalkBuilder::new(root)
            .hidden(true)
            .git_ignore(!opts.no_ignore)
            .git_global(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore)
            .require_git(false)
            .follow_links(false)
            .filter_entry(move |e| {
                let name = e.file_name().to_string_lossy();
                if e.depth() > 0
                    && e.file_type().is_some_and(|t| t.is_dir())
                    && SKIPPED_DIRS.contains(&name.as_ref())
                {
                    return false;
                }
                let rel = e.path().strip_prefix(&root_for_filter).unwrap_or(e.path());
                !(excludes.is_match(rel) || excludes.is_match(display_path(e.path())))
            })
            .build();
        let mut files: Vec<String> = walker
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_some_and(|t| t.is_file()) && has_lint_extension(e.path()))
            .map(|e| display_path(e.path()))
            .collect();
        files.sort();
        files
    }

    fn our_walk(root: &Path, opts: &WalkOptions) -> Vec<String> {
        let mut files = Vec::new();
        let errors = discover(&[root.to_path_buf()], opts, &mut |c| files.push(c.display));
        assert!(errors.is_empty(), "{errors:?}");
        files.sort();
        files
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A tree with every kind of ignore rule and their precedence: nearer
    /// folders over farther, `.ignore` over `.gitignore` over `info/exclude`,
    /// whitelists, anchored and folder patterns, hidden files (one
    /// whitelisted), a worktree's `.git` file, rules above the root, folders
    /// never entered, symlinks, a bad glob.
    fn fixture(base: &Path) {
        let _ = fs::remove_dir_all(base);
        let proj = base.join("proj");
        write(
            &base.join(".gitignore"),
            "from-above.yaml\nproj/sub/above-only.yaml\nsub/not-below-base.yaml\n",
        );
        write(
            &proj.join(".gitignore"),
            "*.json\n!keep.json\nbuild/\n/anchored.yaml\n!.shown.yaml\nlogs\nwl.yaml\nig-2.yaml\n",
        );
        write(&proj.join(".ignore"), "ig-*.yaml\n!wl.yaml\n");
        write(
            &proj.join(".git/info/exclude"),
            "excluded.yaml\n!keep-ex.json\n",
        );
        for f in [
            "a.yaml",
            "b.json",
            "keep.json",
            "keep-ex.json",
            "anchored.yaml",
            "wl.yaml",
            "from-above.yaml",
            "excluded.yaml",
            "ig-1.yaml",
            "ig-2.yaml",
            ".hidden.yaml",
            ".shown.yaml",
            ".hdir/x.yaml",
            "build/c.yaml",
            "logs/d.yaml",
            "logs.yaml",
            "node_modules/x.yaml",
            "vendor/y.yaml",
            "sub/anchored.yaml",
            "sub/b.json",
            "sub/c.json",
            "sub/above-only.yaml",
            "sub/not-below-base.yaml",
            "sub/nested/e.yaml",
            "sub/deep/anchored.yaml",
            "sub/deep/c.json",
            "sub/deep/foo.yaml",
            "sub/deep/kustomization",
            "wt/ok.yaml",
            "wt/wt-excluded.yaml",
            "wt/sub/wt-excluded.yaml",
        ] {
            write(&proj.join(f), "kind: ConfigMap\n");
        }
        write(
            &proj.join("sub/.gitignore"),
            "!b.json\n/anchored.yaml\nnested/\n",
        );
        write(&proj.join("sub/deep/.ignore"), "!c.json\n");
        write(&proj.join("sub/deep/.gitignore"), "[z-a]\nfoo.yaml\n");
        let common = fs::canonicalize(base).unwrap().join("gitmeta");
        write(&common.join("info/exclude"), "wt-excluded.yaml\n");
        write(&common.join("worktrees/wt/commondir"), "../..\n");
        write(
            &proj.join("wt/.git"),
            &format!("gitdir: {}\n", common.join("worktrees/wt").display()),
        );
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("a.yaml", proj.join("link.yaml")).unwrap();
            std::os::unix::fs::symlink("sub", proj.join("linkdir")).unwrap();
        }
    }

    #[test]
    fn a_bad_glob_above_the_root_is_reported_at_its_file() {
        let base = PathBuf::from(format!("target/walk-bad-glob-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        write(&base.join(".gitignore"), "[z-a]\n");
        write(&base.join("proj/a.yaml"), "kind: ConfigMap\n");
        let opts = WalkOptions {
            excludes: &GlobSet::empty(),
            no_ignore: false,
        };
        let mut files = Vec::new();
        let errors = discover(&[base.join("proj")], &opts, &mut |c| files.push(c.display));
        assert_eq!(files, [format!("{}/proj/a.yaml", base.display())]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].display, format!("{}/.gitignore", base.display()));
        assert!(
            errors[0].message.contains("error parsing glob '[z-a]'"),
            "{errors:?}"
        );
        fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_walk_leaves_out_what_the_ignore_crate_leaves_out() {
        // Below the package root (the tests' working folder), so that the
        // relative forms of the root are walked too.
        let base = PathBuf::from(format!("target/walk-oracle-{}", std::process::id()));
        fixture(&base);
        let abs = fs::canonicalize(&base).unwrap();
        let none = GlobSet::empty();
        let deep = build_globset(&["sub/deep".to_string()]).unwrap();
        let mut compared = 0;
        for root in [
            base.join("proj"),
            PathBuf::from(format!("./{}", base.join("proj").display())),
            base.join("proj/"),
            abs.join("proj"),
            base.join("proj/sub"),
            base.join("proj/wt"),
            PathBuf::from("."),
        ] {
            for excludes in [&none, &deep] {
                // (Not the whole repository's build folder.)
                for no_ignore in [false, true]
                    .into_iter()
                    .filter(|n| !n || root != Path::new("."))
                {
                    let opts = WalkOptions {
                        excludes,
                        no_ignore,
                    };
                    let ours = our_walk(&root, &opts);
                    assert_eq!(
                        ours,
                        crate_walk(&root, &opts),
                        "root {root:?}, no_ignore {no_ignore}"
                    );
                    compared += ours.len();
                }
            }
        }
        // The fixture's own verdicts, so that the oracle cannot agree by
        // walking nothing.
        let ours = our_walk(
            &base.join("proj"),
            &WalkOptions {
                excludes: &none,
                no_ignore: false,
            },
        );
        let names: Vec<&str> = ours
            .iter()
            .map(|p| p.split("/proj/").nth(1).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                ".shown.yaml",
                "a.yaml",
                "keep.json",
                "logs.yaml",
                "sub/b.json",
                "sub/deep/anchored.yaml",
                "sub/deep/c.json",
                "sub/not-below-base.yaml",
                "wl.yaml",
                "wt/ok.yaml",
            ]
        );
        assert!(compared > 100);
        fs::remove_dir_all(&base).unwrap();
    }
}
