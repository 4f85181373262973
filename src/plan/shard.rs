//! `--shard M/N`: one of N slices of the selected jobs, for N CI machines. The jobs are
//! sliced after matrix expansion and selection (`--job`, `--tag`), services left out (a
//! service comes with the jobs that need it); each slice brings along what its jobs
//! need, as `--job` does, so every job runs in the shard it falls in (and a job needed
//! by jobs of several shards runs in each). A dynamic matrix is expanded only at run
//! time: it is sliced as one job, so all the jobs it becomes run in one shard.

use super::job::JobSpec;
use super::select::keep_with_needs;
use crate::input::settings::Shard;

/// What `--shard` kept, for `--dry-run` and the empty-shard notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sharded {
    pub(crate) shard: Shard,
    /// The jobs sliced (selected, not services).
    pub(crate) of: usize,
    /// The jobs of this slice.
    pub(crate) slice: usize,
    /// The jobs run because a job of the slice needs them (services included).
    pub(crate) brought: usize,
}

impl std::fmt::Display for Sharded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        write!(
            f,
            "shard {}: {} of {} job{}",
            self.shard,
            self.slice,
            self.of,
            s(self.of)
        )?;
        if self.brought > 0 {
            write!(f, ", and {} they need", self.brought)?;
        }
        Ok(())
    }
}

/// The jobs of `shard`, with what they need.
pub(crate) fn apply(jobs: Vec<JobSpec>, shard: Shard) -> (Vec<JobSpec>, Sharded) {
    let units: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].opts.service.is_none())
        .collect();
    let mut keep = vec![false; jobs.len()];
    let (m, n) = (shard.index as usize - 1, shard.count as usize);
    for (k, &i) in units.iter().enumerate() {
        keep[i] = if shard.by_hash {
            hash(&jobs[i].name) % n as u64 == m as u64
        } else {
            // Even slices: the first `len % n` slices have one job more.
            (k * n / units.len().max(1)) == m
        };
    }
    let slice = keep.iter().filter(|&&k| k).count();
    let jobs = keep_with_needs(jobs, keep);
    let info = Sharded {
        shard,
        of: units.len(),
        slice,
        brought: jobs.len() - slice,
    };
    (jobs, info)
}

/// A hash of a job's name that is the same on every machine and in every version: the
/// first 8 bytes of its BLAKE3 hash.
fn hash(name: &str) -> u64 {
    let h = blake3::hash(name.as_bytes());
    u64::from_le_bytes(h.as_bytes()[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {

    fn names(yaml: &str, shard: &str) -> Vec<String> {
        let p = crate::plan::test_plan(yaml, &["--shard", shard]);
        p.jobs.iter().map(|j| j.name.to_string()).collect()
    }

    const TEN: &str = "jobs:\n  - name: j0\n    run: x\n  - name: j1\n    run: x\n  - name: j2\n    run: x\n  - name: j3\n    run: x\n  - name: j4\n    run: x\n  - name: j5\n    run: x\n  - name: j6\n    run: x\n  - name: j7\n    run: x\n  - name: j8\n    run: x\n  - name: j9\n    run: x\n";

    #[test]
    fn even_slices_cover_every_job_once_in_jobfile_order() {
        let all: Vec<Vec<String>> = (1..=3).map(|m| names(TEN, &format!("{m}/3"))).collect();
        assert_eq!(all[0], ["j0", "j1", "j2", "j3"]);
        assert_eq!(all[1], ["j4", "j5", "j6"]);
        assert_eq!(all[2], ["j7", "j8", "j9"]);
    }

    #[test]
    fn hash_slices_cover_every_job_once_and_do_not_move_when_a_job_is_added() {
        let all: Vec<Vec<String>> = (1..=3)
            .map(|m| names(TEN, &format!("hash:{m}/3")))
            .collect();
        let mut union: Vec<String> = all.concat();
        union.sort();
        assert_eq!(union.len(), 10);
        union.dedup();
        assert_eq!(union.len(), 10);
        let more = format!("{TEN}  - name: extra\n    run: x\n");
        for (m, before) in all.iter().enumerate() {
            let after = names(&more, &format!("hash:{}/3", m + 1));
            let after: Vec<&String> = after.iter().filter(|n| *n != "extra").collect();
            assert_eq!(after, before.iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn a_slice_brings_what_its_jobs_need() {
        let y = "jobs:\n  - name: build\n    run: x\n  - name: a\n    needs: [build]\n    run: x\n  - name: b\n    needs: [build]\n    run: x\n";
        assert_eq!(names(y, "1/3"), ["build"]);
        assert_eq!(names(y, "3/3"), ["build", "b"]);
        let p = crate::plan::test_plan(y, &["--shard", "3/3"]);
        assert_eq!(p.jobs[1].needs.to_vec(), [0]);
    }

    #[test]
    fn more_shards_than_jobs_leaves_some_empty() {
        let y = "jobs:\n  - name: a\n    run: x\n";
        assert_eq!(names(y, "1/2"), ["a"]);
        assert_eq!(names(y, "2/2"), Vec::<String>::new());
    }
}
