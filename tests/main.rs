//! Integration tests: every test drives the real `prun` binary on real jobfiles, with real
//! processes. One test crate (faster links, shared helpers); one module per theme.

mod util;

mod architecture;
mod containment;
mod conventions;
mod cost;
mod dynamic;
mod errors;
mod examples;
mod healthchecks;
mod history;
mod honest;
mod hooks;
mod limits;
mod lock;
mod metrics;
mod monitor;
mod needs;
mod output;
mod outputs;
mod policy;
mod pool;
mod processes;
mod readers;
mod reports;
mod resources;
mod retries;
mod schema;
mod secrets;
mod security;
mod select;
mod services;
mod shared_machine;
mod slurm;
mod throttles;
mod uptodate;
