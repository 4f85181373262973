//! What prun prints while a run goes on: job and hook output on stdout in the chosen
//! `--output` form (`terminal`), held whole (`spool`) or passed through by the job that
//! owns stdout (`owner`), the progress bar (`progress`), and prun's own writes to its
//! stdout and stderr (`console`), which never panic. Only this layer writes to stdout
//! and stderr during a run.

pub(crate) mod console;
pub(crate) mod notice;
pub(crate) mod owner;
pub(crate) mod progress;
pub(crate) mod spool;
pub(crate) mod terminal;
