//! The test harness (libtest-mimic, `harness = false` in Cargo.toml): every module lists
//! its tests with `crate::tests!(a, b, ...; mod sub)`, and `main` runs them all with the
//! filters and options `cargo test` passes. A test that finds this machine without what
//! it needs (`facility::need`) is reported **ignored**, with why, by the closing line's
//! own count — never passed — and with `PRUN_REQUIRE` asking for that facility it fails.
//! A test left out of its module's list is dead code: clippy (`-D warnings`) says so.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use libtest_mimic::{Arguments, Completion, Trial};

/// Lists a module's tests (and its test submodules') as `trials()`.
#[macro_export]
macro_rules! tests {
    ($($name:ident),* $(,)? $(; $(mod $sub:ident),+ $(,)?)?) => {
        pub(crate) fn trials() -> Vec<libtest_mimic::Trial> {
            let module = module_path!();
            #[allow(unused_mut)]
            let mut all = vec![$($crate::util::trials::trial(module, stringify!($name), $name)),*];
            $($(all.extend($sub::trials());)+)?
            all
        }
    };
}

/// The panic payload of a test that cannot run here (`facility::need`).
pub(crate) struct Skip(pub(crate) String);

/// Test `name` of `module` (`integration::slurm`): named `slurm::name` as libtest would.
pub(crate) fn trial(module: &str, name: &str, test: fn()) -> Trial {
    let module = module.split_once("::").map_or("", |(_, m)| m);
    Trial::ignorable_test(format!("{module}::{name}"), move || {
        match catch_unwind(AssertUnwindSafe(test)) {
            Ok(()) => Ok(Completion::Completed),
            Err(payload) => match payload.downcast::<Skip>() {
                Ok(skip) => Ok(Completion::ignored_with(skip.0)),
                Err(payload) => resume_unwind(payload),
            },
        }
    })
}

/// Runs `trials` as `cargo test` asked, in the order of their names (as libtest does).
pub(crate) fn main(trials: Vec<Vec<Trial>>) -> std::process::ExitCode {
    let args = Arguments::from_args();
    let mut all: Vec<Trial> = trials.into_iter().flatten().collect();
    all.sort_by(|a, b| a.name().cmp(b.name()));
    libtest_mimic::run(&args, all).exit_code()
}
