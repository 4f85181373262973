//! Reading the jobfile: from a path or from stdin (`-`), as UTF-8 text, and at most
//! `MAX_JOBFILE` bytes of it (`prun /dev/zero` must not fill memory). Every way this can
//! fail (missing file, a directory, no permission, too big, invalid UTF-8) says so with
//! the path. A pipe works (`prun - < f`, `prun <(generate)`).

use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::diagnostic::{Diagnostic, Source};

/// Why the jobfile could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// What the user gave cannot be read as a jobfile (missing, a directory, too big,
    /// not UTF-8): said like a jobfile error, with the path.
    Jobfile(Box<Diagnostic>),
    /// The system failed while prun read it.
    Io {
        context: &'static str,
        source: io::Error,
    },
}

impl From<Diagnostic> for ReadError {
    fn from(d: Diagnostic) -> Self {
        ReadError::Jobfile(Box::new(d))
    }
}

/// The largest jobfile prun reads: 256 MiB (a million jobs of 200 bytes each).
pub(crate) const MAX_JOBFILE: u64 = 256 << 20;

/// The jobfile's text and display name.
pub(crate) fn read(arg: &str) -> Result<Source, ReadError> {
    let (name, bytes) = if arg == "-" {
        let bytes = read_capped(io::stdin().lock(), "<stdin>").map_err(|source| ReadError::Io {
            context: "reading the jobfile from stdin",
            source,
        })?;
        ("<stdin>".to_owned(), bytes?)
    } else {
        (arg.to_owned(), read_path(arg)?)
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(Source { name, text }),
        Err(e) => {
            let bytes = e.as_bytes();
            let at = e.utf8_error().valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
            let col = 1 + at
                - bytes[..at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |p| p + 1);
            let msg = format!("the jobfile is not valid UTF-8 (byte 0x{:02x})", bytes[at]);
            Err(Diagnostic::located(&name, (line, col), msg)
                .help("save the jobfile as UTF-8")
                .into())
        }
    }
}

fn read_path(arg: &str) -> Result<Vec<u8>, ReadError> {
    let path = Path::new(arg);
    if path.is_dir() {
        return Err(Diagnostic::file(arg, "is a directory, not a jobfile")
            .help("give the path of a YAML jobfile, e.g. prun jobs.yaml")
            .into());
    }
    let cannot = |e: io::Error| -> ReadError {
        let d = match e.kind() {
            io::ErrorKind::NotFound => Diagnostic::file(arg, "no such file")
                .help("check the path; `prun -` reads the jobfile from stdin"),
            io::ErrorKind::PermissionDenied => Diagnostic::file(arg, "permission denied")
                .help("make the jobfile readable by this user (chmod u+r)"),
            _ => Diagnostic::file(arg, format!("cannot read: {e}")),
        };
        d.into()
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    if let Ok(m) = file.metadata()
        && m.is_file()
        && m.len() > MAX_JOBFILE
    {
        return Err(too_big(arg));
    }
    read_capped(file, arg).map_err(cannot)?
}

/// Reads all of [`input`](crate::input), or stops at `MAX_JOBFILE` bytes with the jobfile error.
fn read_capped(input: impl Read, name: &str) -> io::Result<Result<Vec<u8>, ReadError>> {
    let mut buf = Vec::new();
    input.take(MAX_JOBFILE + 1).read_to_end(&mut buf)?;
    Ok(if buf.len() as u64 > MAX_JOBFILE {
        Err(too_big(name))
    } else {
        Ok(buf)
    })
}

fn too_big(name: &str) -> ReadError {
    Diagnostic::file(
        name,
        format!(
            "is bigger than {} MiB, prun's limit for a jobfile",
            MAX_JOBFILE >> 20
        ),
    )
    .help("split the work into several jobfiles, or generate fewer, bigger jobs")
    .into()
}

/// The directory relative paths in the jobfile start from: the jobfile's own directory,
/// or the current directory for stdin and for a jobfile that is not a file in a directory
/// (a pipe, `prun <(generate)`, whose "directory" is /dev/fd).
pub(crate) fn base_dir(arg: &str) -> Result<PathBuf, ReadError> {
    let cwd = std::env::current_dir().map_err(|source| ReadError::Io {
        context: "finding the current directory",
        source,
    })?;
    if arg == "-" || !Path::new(arg).is_file() {
        return Ok(cwd);
    }
    let parent = Path::new(arg).parent().unwrap_or(Path::new(""));
    Ok(cwd.join(parent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobfile_error(r: Result<Source, ReadError>) -> String {
        match r {
            Err(ReadError::Jobfile(d)) => d.to_string(),
            Err(ReadError::Io { context, .. }) => panic!("an I/O error: {context}"),
            Ok(_) => panic!("read"),
        }
    }

    #[test]
    fn what_cannot_be_a_jobfile_is_said_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap();
        assert!(jobfile_error(read(d)).contains("is a directory"));
        let missing = format!("{d}/nope.yaml");
        assert!(jobfile_error(read(&missing)).contains("no such file"));
        let latin1 = format!("{d}/l1.yaml");
        std::fs::write(&latin1, b"jobs:\n  - echo \xe9t\xe9\n").unwrap();
        let e = jobfile_error(read(&latin1));
        assert!(
            e.contains("not valid UTF-8 (byte 0xe9)") && e.contains(":2:10"),
            "{e}"
        );
    }

    #[test]
    fn a_jobfile_over_the_limit_is_refused_without_reading_it_all() {
        let e = read_capped(std::io::repeat(b'a'), "<stdin>").unwrap();
        assert!(matches!(e, Err(ReadError::Jobfile(d)) if d.to_string().contains("MiB")));
    }
}
