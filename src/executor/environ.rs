//! What every child inherits from prun, captured once per run (`EnvBase`): its
//! environment, its current directory, and where on PATH each directly exec'd program
//! is.

use std::collections::HashMap;
use std::ffi::{CStr, CString, OsStr};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// What every child inherits from prun, captured once per run: the environment as
/// `KEY=VALUE` C strings, the current directory (a child whose workdir is that directory
/// needs no chdir) and where on PATH each directly exec'd program is.
#[derive(Debug, Default)]
pub(crate) struct EnvBase {
    pub(super) entries: Vec<CString>,
    pub(super) cwd: Option<PathBuf>,
    /// PATH's directories, in order (an empty entry is the current directory).
    path: Vec<PathBuf>,
    /// Every PATH directory is absolute: where a program is does not depend on the
    /// child's workdir, so it is looked up once per run.
    path_absolute: bool,
    /// Program name -> its file on PATH (`None`: not found), filled as programs are met.
    programs: Mutex<HashMap<Box<str>, Option<Arc<CStr>>>>,
}

impl EnvBase {
    pub(crate) fn capture() -> Self {
        let entries = std::env::vars_os()
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        // execvp's default when PATH is unset.
        let path_var = std::env::var_os("PATH").unwrap_or_else(|| "/bin:/usr/bin".into());
        let path: Vec<PathBuf> = std::env::split_paths(&path_var)
            .map(|d| {
                if d.as_os_str().is_empty() {
                    ".".into()
                } else {
                    d
                }
            })
            .collect();
        EnvBase {
            entries,
            cwd: std::env::current_dir().ok(),
            path_absolute: path.iter().all(|d| d.is_absolute()),
            path,
            programs: Mutex::default(),
        }
    }

    /// The file `name` (a word without `/`) runs, found on PATH once per run the way
    /// execvp would: the first regular, executable file. `None` leaves the search to the
    /// child (`candidates`). Saves the child one failed exec per PATH directory before
    /// the program's own, on every spawn.
    pub(crate) fn program(&self, name: &str) -> Option<Arc<CStr>> {
        if name.contains('/') || !self.path_absolute {
            return None;
        }
        let dirs = &self.path;
        let mut programs = self.programs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = programs.get(name) {
            return found.clone();
        }
        let found = dirs.iter().find_map(|d| {
            let path = d.join(name);
            let file = c_string(&path).ok()?;
            // SAFETY: access with a NUL-terminated path.
            let runnable =
                path.is_file() && unsafe { libc::access(file.as_ptr(), libc::X_OK) } == 0;
            runnable.then(|| Arc::from(file))
        });
        programs.insert(name.into(), found.clone());
        found
    }

    /// The files the child tries, in order, to run `name`: `name` itself if it has a
    /// `/`, else `name` in each PATH directory (relative ones from the child's workdir).
    pub(super) fn candidates(&self, name: &CStr) -> io::Result<Vec<CString>> {
        if name.to_bytes().contains(&b'/') {
            return Ok(vec![name.to_owned()]);
        }
        let name = OsStr::from_bytes(name.to_bytes());
        self.path.iter().map(|d| c_string(d.join(name))).collect()
    }
}

/// A C string of `s` (for argv), refusing interior NULs.
pub(crate) fn c_string(s: impl AsRef<OsStr>) -> io::Result<CString> {
    CString::new(s.as_ref().as_bytes()).map_err(|_| io::Error::other("contains a NUL byte"))
}
