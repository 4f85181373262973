//! Reading what was asked: the command line (`cli`, and what the shell offers for it,
//! `complete`), the jobfile's text (`source`) and
//! its YAML as written (`jobfile`), the settings both share (`settings`), and located
//! errors with a fix (`diagnostic`). Nothing here decides what the values mean: [`plan`](crate::plan)
//! does.

pub(crate) mod cli;
pub(crate) mod complete;
pub(crate) mod diagnostic;
pub(crate) mod jobfile;
pub(crate) mod settings;
pub(crate) mod source;
