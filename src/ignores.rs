//! Which paths a walk leaves out by the ignore files — `.ignore`,
//! `.gitignore`, `.git/info/exclude` and git's global excludes file, in each
//! walked folder and in the folders above the root — decided as ripgrep's
//! `ignore` crate decides with the settings the walk uses (hidden files
//! skipped, no git repository required), from each folder's listing: a
//! folder's ignore files are looked for only when its listing names them.
//! The crate's walker asks the file system for four names in every folder
//! (36,000 failed lookups of long paths on a 9,000-folder tree: 40 of the
//! walk's 100 ms). The crate's walker is the oracle of `walk`'s tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use ignore::Match;

/// The ignore files of one folder.
struct Files {
    ignore: Gitignore,
    gitignore: Gitignore,
    exclude: Gitignore,
}

impl Files {
    /// The ignore files of `dir`, or none when it has none. `listed` says
    /// whether its listing names a file (`None`: not listed, ask the file
    /// system). Errors are those the crate reports: bad globs, not I/O.
    fn read(
        dir: &Path,
        listed: Option<&dyn Fn(&str) -> bool>,
        errors: &mut Vec<ignore::Error>,
    ) -> Option<Files> {
        let has = |name: &str| listed.is_none_or(|l| l(name));
        let ignore = if has(".ignore") {
            create(dir, dir, ".ignore", errors)
        } else {
            Gitignore::empty()
        };
        let gitignore = if has(".gitignore") {
            create(dir, dir, ".gitignore", errors)
        } else {
            Gitignore::empty()
        };
        let exclude = if has(".git") {
            let git_type = dir.join(".git").metadata().ok().map(|m| m.file_type());
            match git_common_dir(dir, git_type) {
                Ok(git_dir) => create(dir, &git_dir, "info/exclude", errors),
                Err(e) => {
                    errors.extend(e);
                    Gitignore::empty()
                }
            }
        } else {
            Gitignore::empty()
        };
        let none = ignore.is_empty() && gitignore.is_empty() && exclude.is_empty();
        (!none).then_some(Files {
            ignore,
            gitignore,
            exclude,
        })
    }
}

/// A matcher rooted at `dir` from the file `name` in `file_dir`, if it exists.
fn create(dir: &Path, file_dir: &Path, name: &str, errors: &mut Vec<ignore::Error>) -> Gitignore {
    let mut builder = GitignoreBuilder::new(dir);
    let path = file_dir.join(name);
    if path.exists() {
        if let Some(e) = builder.add(&path).filter(|e| !e.is_io()) {
            errors.push(e);
        }
    }
    builder.build().unwrap_or_else(|e| {
        errors.push(e);
        Gitignore::empty()
    })
}

/// Where `dir`'s `info/exclude` lives: `.git`, or for a worktree (`.git` a
/// file saying `gitdir: …`) the common folder its `commondir` names.
fn git_common_dir(
    dir: &Path,
    git_type: Option<std::fs::FileType>,
) -> Result<PathBuf, Option<ignore::Error>> {
    use std::io::BufRead;
    let git = dir.join(".git");
    if !git_type.is_some_and(|t| t.is_file()) {
        return Ok(git);
    }
    let first_line = |path: &Path| -> Result<Option<String>, std::io::Error> {
        let file = std::io::BufReader::new(std::fs::File::open(path)?);
        file.lines().next().transpose()
    };
    let with_path = |e: std::io::Error, path: &Path| {
        Some(ignore::Error::WithPath {
            path: path.to_path_buf(),
            err: Box::new(ignore::Error::Io(e)),
        })
    };
    let line = first_line(&git).map_err(|e| with_path(e, &git))?;
    let Some(real) = line.as_deref().and_then(|l| l.strip_prefix("gitdir: ")) else {
        return Err(None);
    };
    let real = PathBuf::from(real);
    let commondir = real.join("commondir");
    let line = match std::fs::File::open(&commondir) {
        Ok(_) => first_line(&commondir).map_err(|e| with_path(e, &commondir))?,
        Err(_) => return Err(None),
    };
    match line {
        Some(l) if l.starts_with('.') => Ok(real.join(l)),
        Some(l) => Ok(PathBuf::from(l)),
        None => Err(None),
    }
}

/// The walked folders with ignore files from a folder up to the root,
/// nearest first (shared: most folders add none).
#[derive(Clone, Default)]
pub struct Chain(Option<Arc<Link>>);

struct Link {
    files: Files,
    parent: Chain,
}

impl Chain {
    fn iter(&self) -> impl Iterator<Item = &Files> {
        std::iter::successors(self.0.as_deref(), |l| l.parent.0.as_deref()).map(|l| &l.files)
    }
}

/// The ignore rules of one walk root.
pub struct Ignores {
    /// The root as walked (`.`, `dir`, `./dir`).
    root: PathBuf,
    /// The root's canonical path and the ignore files of the folders above
    /// it, nearest first (none when they have none): they match paths made
    /// absolute.
    above: Option<(PathBuf, Vec<Files>)>,
    global: Gitignore,
}

impl Ignores {
    /// The rules of the folders above `root` and the global excludes file;
    /// the errors are the bad globs of the former.
    pub fn new(root: &Path) -> (Ignores, Vec<ignore::Error>) {
        let mut errors = Vec::new();
        let above = root.canonicalize().ok().and_then(|abs| {
            let files: Vec<Files> = abs
                .ancestors()
                .skip(1)
                .filter_map(|dir| Files::read(dir, None, &mut errors))
                .collect();
            (!files.is_empty()).then_some((abs, files))
        });
        // As the crate: rooted at the working folder, its own errors unsaid.
        let global = Gitignore::global().0;
        let ignores = Ignores {
            root: root.to_path_buf(),
            above,
            global,
        };
        (ignores, errors)
    }

    /// `chain` with the ignore files of `dir` (whose listing holds `names`).
    pub fn enter(&self, chain: &Chain, dir: &Path, names: impl Fn(&str) -> bool) -> Chain {
        match Files::read(dir, Some(&names), &mut Vec::new()) {
            Some(files) => Chain(Some(Arc::new(Link {
                files,
                parent: chain.clone(),
            }))),
            None => chain.clone(),
        }
    }

    /// Whether `path` (in a folder of `chain`) is left out: ignored by the
    /// nearest rule of each kind (`.ignore` over `.gitignore` over
    /// `info/exclude` over the global file), or hidden and not whitelisted.
    pub fn skips(&self, chain: &Chain, path: &Path, is_dir: bool) -> bool {
        let path = strip_prefix(Path::new("./"), path).unwrap_or(path);
        let (mut ignore, mut gitignore, mut exclude) = (Match::None, Match::None, Match::None);
        let mut apply = |files: &Files, path: &Path| {
            if ignore.is_none() {
                ignore = files.ignore.matched(path, is_dir).map(|_| ());
            }
            if gitignore.is_none() {
                gitignore = files.gitignore.matched(path, is_dir).map(|_| ());
            }
            if exclude.is_none() {
                exclude = files.exclude.matched(path, is_dir).map(|_| ());
            }
        };
        for files in chain.iter() {
            apply(files, path);
        }
        if let Some((abs, above)) = &self.above {
            // The path below the root, joined to the root's canonical path.
            let rel = if self.root == Path::new(".") {
                path
            } else {
                let root = strip_prefix(Path::new("./"), &self.root).unwrap_or(&self.root);
                let rel = strip_prefix(root, path).unwrap_or(path);
                strip_prefix(Path::new("/"), rel).unwrap_or(rel)
            };
            let path = abs.join(rel);
            for files in above {
                apply(files, &path);
            }
        }
        let global = self.global.matched(path, is_dir).map(|_| ());
        let found = ignore.or(gitignore).or(exclude).or(global);
        found.is_ignore() || (found.is_none() && is_hidden(path))
    }
}

fn is_hidden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."))
}

/// `path` without `prefix`, compared byte by byte as the crate does (not by
/// components: `./a` keeps its `.` for `Path::strip_prefix`'s purposes).
#[cfg(unix)]
fn strip_prefix<'a>(prefix: &Path, path: &'a Path) -> Option<&'a Path> {
    use std::os::unix::ffi::OsStrExt;
    let rest = path
        .as_os_str()
        .as_bytes()
        .strip_prefix(prefix.as_os_str().as_bytes())?;
    Some(Path::new(std::ffi::OsStr::from_bytes(rest)))
}

#[cfg(not(unix))]
fn strip_prefix<'a>(prefix: &Path, path: &'a Path) -> Option<&'a Path> {
    path.strip_prefix(prefix).ok()
}
