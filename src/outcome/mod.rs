//! How jobs ended, as data and in words: a job's final `Status` (`status`), its
//! `JobResult` (`result`: every attempt, the reason it was skipped or not run), why
//! (`reason`), how a command ended in words (`ending`), what it handed back through
//! `PRUN_OUTPUT` (`outputs`), one ended attempt (`attempt`), and the whole run
//! (`summary`).

pub(crate) mod attempt;
pub(crate) mod ending;
pub(crate) mod fingerprint;
pub(crate) mod outputs;
pub(crate) mod reason;
pub(crate) mod result;
pub(crate) mod status;
pub(crate) mod summary;

pub(crate) use ending::Ending;
pub(crate) use reason::{HookReason, Reason, Stop};
pub(crate) use result::{EarlierAttempt, HookFailure, JobResult, More, Units};
pub(crate) use status::Status;
