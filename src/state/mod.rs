//! What a run keeps across runs, on disk: the joblog (`joblog`, one line per ended
//! attempt), what `--resume` reads back from it (`resume`), and the overlap lock
//! (`lock`), and the runs kept in a history directory (`history`).

pub(crate) mod fingerprint;
pub(crate) mod history;
pub(crate) mod joblog;
pub(crate) mod lock;
pub(crate) mod resume;
