//! Reading a policy directory from disk: every `*.yaml` / `*.yml` under the given paths,
//! sorted by path, within limits. The one reader every command uses (`check`, `plan`,
//! `test`, `provision`, `run` and its reloads, `gameday`, `simulate`), so they all load a
//! bundle under the same rules.
//!
//! # Limits
//! - at most [`MAX_FILES`] files: a stray path (say `/`) must not be walked forever;
//! - directories at most [`MAX_DIR_DEPTH`] levels deep (this also ends symlink loops);
//! - files of at most [`MAX_FILE_BYTES`] bytes, checked before the file is read (the loader
//!   checks the same limit on the text it is given);
//! - hidden files and directories (`.git`, editor swap files) are skipped.
//!
//! # Design
//! The decision core reads no files (its `clippy.toml` bans file I/O), so the reader cannot
//! live there. This crate is the lowest one every caller already depends on: the simulator,
//! the game-day engine and the binary all sit above it. Reading files is not a port: it
//! happens once per load, before any pass, and a simulated world reads the same files.

use regionctl_core::policy::SourceFile;
use regionctl_core::policy::yaml::MAX_FILE_BYTES;
use std::path::{Path, PathBuf};

/// Most files in one bundle.
pub const MAX_FILES: usize = 20_000;
/// Deepest directory nesting walked below a given directory.
pub const MAX_DIR_DEPTH: usize = 16;

/// Why a policy directory could not be read. Every variant names the path at fault.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFilesError {
    /// A path given on the command line (or in a scenario) does not exist.
    #[error("{}: no such file or directory", .0.display())]
    Missing(PathBuf),
    /// A directory could not be listed.
    #[error("{}: cannot list directory", .path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// More policy files than the limit ([`MAX_FILES`]).
    #[error("more than {limit} policy files under {}", .dir.display())]
    TooManyFiles {
        /// The directory being walked when the limit was passed.
        dir: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// A directory nested deeper than the limit ([`MAX_DIR_DEPTH`]).
    #[error("{}: directories nested deeper than {limit} levels", .dir.display())]
    TooDeep {
        /// The first directory too deep.
        dir: PathBuf,
        /// The limit.
        limit: usize,
    },
    /// A file's metadata could not be read.
    #[error("{}: cannot read", .path.display())]
    Metadata {
        /// The file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// A file larger than [`MAX_FILE_BYTES`].
    #[error("{}: {bytes} bytes; policy files are limited to {MAX_FILE_BYTES} bytes", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// A file that could not be read as UTF-8 text.
    #[error("{}: cannot read as UTF-8 text", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What reading said (not UTF-8, or an I/O error).
        #[source]
        source: std::io::Error,
    },
}

impl PolicyFilesError {
    /// The message with its cause, for callers that print one line (the binary's `anyhow`
    /// chain does the same with `{:#}`).
    pub fn with_cause(&self) -> String {
        match std::error::Error::source(self) {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }
}

/// The limits of one walk ([`Limits::DEFAULT`] everywhere but in this module's tests, which
/// would otherwise write 20,001 files).
#[derive(Debug, Clone, Copy)]
struct Limits {
    max_files: usize,
    max_depth: usize,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        max_files: MAX_FILES,
        max_depth: MAX_DIR_DEPTH,
    };
}

/// Every YAML file under `paths` (files or directories), sorted by path, duplicates
/// dropped. A file named directly is taken whatever its extension.
pub fn list<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<PathBuf>, PolicyFilesError> {
    list_within(paths, Limits::DEFAULT)
}

/// Reads every YAML file under `paths` (files or directories), sorted by path; each
/// [`SourceFile`] carries its path as given (`policies/playback.yaml`).
pub fn read<P: AsRef<Path>>(paths: &[P]) -> Result<Vec<SourceFile>, PolicyFilesError> {
    list(paths)?.into_iter().map(read_one).collect()
}

fn list_within<P: AsRef<Path>>(
    paths: &[P],
    limits: Limits,
) -> Result<Vec<PathBuf>, PolicyFilesError> {
    let mut found = Vec::new();
    for path in paths {
        let path = path.as_ref();
        if !path.exists() {
            return Err(PolicyFilesError::Missing(path.to_path_buf()));
        }
        if path.is_dir() {
            walk(path, 0, limits, &mut found)?;
        } else {
            found.push(path.to_path_buf());
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// Reads one file, refusing it before reading when it is over [`MAX_FILE_BYTES`].
fn read_one(path: PathBuf) -> Result<SourceFile, PolicyFilesError> {
    let bytes = match std::fs::metadata(&path) {
        Ok(meta) => meta.len(),
        Err(source) => return Err(PolicyFilesError::Metadata { path, source }),
    };
    if bytes > MAX_FILE_BYTES as u64 {
        return Err(PolicyFilesError::TooLarge { path, bytes });
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(SourceFile {
            path: path.display().to_string(),
            text,
        }),
        Err(source) => Err(PolicyFilesError::Read { path, source }),
    }
}

/// Adds the YAML files under `dir` to `out`, depth first in name order.
fn walk(
    dir: &Path,
    depth: usize,
    limits: Limits,
    out: &mut Vec<PathBuf>,
) -> Result<(), PolicyFilesError> {
    if depth > limits.max_depth {
        return Err(PolicyFilesError::TooDeep {
            dir: dir.to_path_buf(),
            limit: limits.max_depth,
        });
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| PolicyFilesError::List {
            path: dir.to_path_buf(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            walk(&path, depth + 1, limits, out)?;
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
            if out.len() > limits.max_files {
                return Err(PolicyFilesError::TooManyFiles {
                    dir: dir.to_path_buf(),
                    limit: limits.max_files,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh, empty directory for one test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "regionctl-policy-files-{name}-{}",
            std::process::id()
        ));
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn yaml_files_sorted_hidden_skipped_and_named_files_taken_as_given() {
        let dir = scratch("sorted");
        write(&dir.join("b.yaml"), "b");
        write(&dir.join("a.yml"), "a");
        write(&dir.join("notes.txt"), "not policy");
        write(&dir.join("sub/c.yaml"), "c");
        write(&dir.join(".hidden.yaml"), "hidden");
        write(&dir.join(".git/d.yaml"), "in a hidden directory");
        let extra = dir.join("notes.txt");
        let files = read(&[dir.clone(), extra.clone(), dir.join("b.yaml")]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| {
                f.path
                    .trim_start_matches(&*dir.display().to_string())
                    .to_string()
            })
            .collect();
        assert_eq!(names, ["/a.yml", "/b.yaml", "/notes.txt", "/sub/c.yaml"]);
        assert_eq!(files[0].text, "a");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_missing_path_is_named() {
        let missing = PathBuf::from("no/such/policies");
        let err = read(std::slice::from_ref(&missing)).unwrap_err();
        assert!(matches!(&err, PolicyFilesError::Missing(p) if *p == missing));
        assert_eq!(
            err.to_string(),
            "no/such/policies: no such file or directory"
        );
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_before_it_is_read() {
        let dir = scratch("large");
        let big = dir.join("big.yaml");
        write(&big, &"x".repeat(MAX_FILE_BYTES + 1));
        write(&dir.join("small.yaml"), "a: 1");
        let err = read(&[&dir]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: {} bytes; policy files are limited to {MAX_FILE_BYTES} bytes",
                big.display(),
                MAX_FILE_BYTES + 1
            )
        );
        write(&big, &"x".repeat(MAX_FILE_BYTES));
        assert_eq!(read(&[&dir]).unwrap().len(), 2, "exactly the limit is fine");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_tree_deeper_than_the_limit_is_refused() {
        let dir = scratch("deep");
        let mut deepest = dir.clone();
        for _ in 0..MAX_DIR_DEPTH {
            deepest.push("d");
        }
        write(&deepest.join("ok.yaml"), "a: 1");
        assert_eq!(
            list(&[&dir]).unwrap().len(),
            1,
            "{MAX_DIR_DEPTH} levels are fine"
        );
        let too_deep = deepest.join("d");
        write(&too_deep.join("x.yaml"), "a: 1");
        let err = list(&[&dir]).unwrap_err();
        assert!(matches!(&err, PolicyFilesError::TooDeep { dir, .. } if *dir == too_deep));
        assert_eq!(
            err.to_string(),
            format!(
                "{}: directories nested deeper than {MAX_DIR_DEPTH} levels",
                too_deep.display()
            )
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn more_files_than_the_limit_are_refused() {
        let dir = scratch("many");
        for i in 0..4 {
            write(&dir.join(format!("f{i}.yaml")), "a: 1");
        }
        let limits = Limits {
            max_files: 3,
            max_depth: MAX_DIR_DEPTH,
        };
        let err = list_within(&[&dir], limits).unwrap_err();
        assert!(matches!(
            &err,
            PolicyFilesError::TooManyFiles { limit: 3, .. }
        ));
        assert_eq!(
            err.to_string(),
            format!("more than 3 policy files under {}", dir.display())
        );
        let limits = Limits {
            max_files: 4,
            max_depth: MAX_DIR_DEPTH,
        };
        assert_eq!(list_within(&[&dir], limits).unwrap().len(), 4);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn text_that_is_not_utf8_is_named_with_its_cause() {
        let dir = scratch("utf8");
        let bad = dir.join("bad.yaml");
        std::fs::write(&bad, [0xff, 0xfe]).unwrap();
        let err = read(&[&dir]).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: cannot read as UTF-8 text", bad.display())
        );
        let cause = std::error::Error::source(&err).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("stream did not contain valid UTF-8"));
        std::fs::remove_dir_all(&dir).ok();
    }
}
