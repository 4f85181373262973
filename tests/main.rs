//! Integration tests: every test drives the real `prun` binary on real jobfiles, with real
//! processes. One test crate (faster links, shared helpers); one module per theme.

#[macro_use]
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

fn main() -> std::process::ExitCode {
    util::trials::main(vec![
        architecture::trials(),
        containment::trials(),
        conventions::trials(),
        cost::trials(),
        dynamic::trials(),
        errors::trials(),
        examples::trials(),
        healthchecks::trials(),
        history::trials(),
        honest::trials(),
        hooks::trials(),
        limits::trials(),
        lock::trials(),
        metrics::trials(),
        monitor::trials(),
        needs::trials(),
        output::trials(),
        outputs::trials(),
        policy::trials(),
        pool::trials(),
        processes::trials(),
        readers::trials(),
        reports::trials(),
        resources::trials(),
        retries::trials(),
        schema::trials(),
        secrets::trials(),
        security::trials(),
        select::trials(),
        services::trials(),
        shared_machine::trials(),
        slurm::trials(),
        throttles::trials(),
        uptodate::trials(),
    ])
}
