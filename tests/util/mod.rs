//! A small fluent helper over a temp dir: write a jobfile, run prun on it, look at what
//! it printed and at the files its jobs wrote.

#![allow(dead_code)]

pub(crate) mod facility;
pub(crate) mod healthchecks;
pub(crate) mod recorder;
pub(crate) mod trials;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub(crate) struct Prun {
    pub(crate) dir: TempDir,
    args: Vec<String>,
    stdin: Option<String>,
    env: Vec<(String, String)>,
    /// The time prun's run ids are made of, once `next_second` has moved it
    /// (`PRUN_TEST_NOW`, read by debug builds).
    clock: std::cell::Cell<Option<u64>>,
}

/// What one run of prun did.
pub(crate) struct Run {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

impl Run {
    #[track_caller]
    pub(crate) fn code(&self, want: i32) -> &Self {
        assert_eq!(
            self.code, want,
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Prun {
    pub(crate) fn new() -> Self {
        Prun {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            stdin: None,
            env: Vec::new(),
            clock: std::cell::Cell::new(None),
        }
    }

    /// The next run's id is of the next second — runs sort apart by name — with no sleep:
    /// prun's clock for run ids is set (`PRUN_TEST_NOW`) a second on from the last.
    pub(crate) fn next_second(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let next = self.clock.get().map_or(now + 1, |t| t.max(now) + 1);
        self.clock.set(Some(next));
    }

    /// Writes `jobs.yaml` in the temp dir and makes it the jobfile argument.
    pub(crate) fn jobfile(self, yaml: &str) -> Self {
        self.file("jobs.yaml", yaml).arg("jobs.yaml")
    }

    pub(crate) fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("make the file's directory");
        }
        std::fs::write(path, text).expect("write file");
        self
    }

    pub(crate) fn arg(mut self, a: &str) -> Self {
        self.args.push(a.to_owned());
        self
    }

    pub(crate) fn args(mut self, a: &[&str]) -> Self {
        self.args.extend(a.iter().map(|s| (*s).to_owned()));
        self
    }

    pub(crate) fn stdin(mut self, s: &str) -> Self {
        self.stdin = Some(s.to_owned());
        self
    }

    pub(crate) fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Lets any user write in the test's directory (for prun run as another user).
    pub(crate) fn open_to_all(&self) {
        let all = std::os::unix::fs::PermissionsExt::from_mode(0o777);
        std::fs::set_permissions(self.dir.path(), all).unwrap();
    }

    /// The contents of a file a job wrote, or "" if it does not exist.
    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    pub(crate) fn command(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(&self.args).current_dir(self.dir.path());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if let Some(t) = self.clock.get() {
            cmd.env("PRUN_TEST_NOW", t.to_string());
        }
        cmd
    }

    pub(crate) fn run(&self) -> Run {
        self.run_with(&[])
    }

    /// Runs prun with `extra` arguments after the ones given so far.
    pub(crate) fn run_with(&self, extra: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(extra);
        cmd.stdin(if self.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd.spawn().expect("spawn prun");
        if let Some(input) = &self.stdin {
            use std::io::Write;
            let mut s = child.stdin.take().expect("stdin");
            s.write_all(input.as_bytes()).expect("write stdin");
        }
        let out: Output = child.wait_with_output().expect("wait prun");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            elapsed: start.elapsed(),
        }
    }
}

pub(crate) fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_prun"))
}

/// The repository root (for `jobfiles/`).
pub(crate) fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A job command that logs `S <name> <time>` at start and `E <name> <time>` at the end,
/// sleeping `secs` in between, into `log` in the job's workdir.
pub(crate) fn timed_job(secs: f64) -> String {
    format!(
        "echo \"S $PRUN_JOB $(date +%s.%N) $PRUN_SLOT\" >> log; sleep {secs}; echo \"E $PRUN_JOB $(date +%s.%N) $PRUN_SLOT\" >> log"
    )
}

/// A job that proves how many jobs run at once, with marker files instead of timing:
/// it takes its slot (`mkdir slots/$PRUN_SLOT` fails if another job holds it), counts
/// the jobs running beside it into `counts` (one line per job), and waits, up to 10 s,
/// until `wait_for` jobs have started and counted (so none has left `running` before the
/// last one counted) — so a pool that never reaches that many fails
/// (exit 1), whatever the machine's load. Run in a directory with `slots/`, `running/`
/// `started/` and `counted/` (`pool_dirs`).
pub(crate) fn pool_job(wait_for: usize) -> String {
    format!(
        "mkdir slots/$PRUN_SLOT || exit 3; touch running/$PRUN_JOB started/$PRUN_JOB; ls running | wc -l >> counts; touch counted/$PRUN_JOB; i=0; while [ $(ls counted | wc -l) -lt {wait_for} ]; do i=$((i+1)); [ $i -gt 1000 ] && exit 1; sleep 0.01; done; rm running/$PRUN_JOB; rmdir slots/$PRUN_SLOT"
    )
}

/// The directories `pool_job` needs, in `p`'s directory.
pub(crate) fn pool_dirs(p: &Prun) {
    for d in ["slots", "running", "started", "counted"] {
        std::fs::create_dir_all(p.path(d)).unwrap();
    }
}

/// How many jobs ran at once, as each `pool_job` counted when it started.
pub(crate) fn pool_counts(p: &Prun) -> Vec<usize> {
    p.read("counts")
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// One parsed line of a `timed_job` log.
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    pub(crate) start: bool,
    pub(crate) name: String,
    pub(crate) time: f64,
    pub(crate) slot: usize,
}

pub(crate) fn parse_log(text: &str) -> Vec<Mark> {
    let mut marks: Vec<Mark> = text
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let kind = w.next()?;
            Some(Mark {
                start: kind == "S",
                name: w.next()?.to_owned(),
                time: w.next()?.parse().ok()?,
                slot: w.next().and_then(|s| s.parse().ok()).unwrap_or(0),
            })
        })
        .collect();
    marks.sort_by(|a, b| a.time.total_cmp(&b.time));
    marks
}

/// The most jobs that were running at once, from a `timed_job` log.
pub(crate) fn max_concurrency(marks: &[Mark]) -> usize {
    let (mut cur, mut max) = (0usize, 0usize);
    for m in marks {
        if m.start {
            cur += 1;
            max = max.max(cur);
        } else {
            cur -= 1;
        }
    }
    max
}

/// Whether any process whose command line contains `marker` is alive.
pub(crate) fn alive(marker: &str) -> bool {
    Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Waits up to `limit` for no process with `marker` to be left.
/// Waits (up to 20 s) for the file `path` to exist, e.g. one a job makes as it starts;
/// fails with `what` if it never does.
#[track_caller]
pub(crate) fn wait_for_file(path: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn gone_within(marker: &str, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if !alive(marker) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    !alive(marker)
}

/// The words that run the command after them as user and group `uid`, without
/// supplementary groups (util-linux `setpriv`; the tests that use it run as root).
pub(crate) fn as_user_words(uid: u32) -> [String; 4] {
    [
        "setpriv".to_owned(),
        format!("--reuid={uid}"),
        format!("--regid={uid}"),
        "--clear-groups".to_owned(),
    ]
}

/// A command that runs what its arguments say as user `uid` (see `as_user_words`).
pub(crate) fn as_user(uid: u32) -> Command {
    let [program, args @ ..] = as_user_words(uid);
    let mut cmd = Command::new(program);
    cmd.args(args);
    cmd
}

/// Waits (up to 20 s) until user `uid` has no process left, zombies included: they count
/// against its process limit until this machine's init reaps them, which may take a
/// second or two.
pub(crate) fn wait_for_no_processes_of(uid: u32) {
    let tag = format!("Uid:\t{uid}\t");
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < Duration::from_secs(20) {
        n = std::fs::read_dir("/proc")
            .unwrap()
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("status")).ok())
            .filter(|s| s.lines().any(|l| l.starts_with(&tag)))
            .count();
        if n == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{n} processes of uid {uid} still there after 20 s");
}

impl Prun {
    /// Starts prun in the background (stdout discarded, stderr piped) and waits until
    /// every file in `ready` exists in the temp dir, i.e. until those jobs have started.
    pub(crate) fn start_until(&self, ready: &[&str], limit: Duration) -> std::process::Child {
        let child = self
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn prun");
        let t = Instant::now();
        while !ready.iter().all(|f| self.path(f).exists()) {
            assert!(t.elapsed() < limit, "jobs never started: {ready:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
    }
}

/// `file` (a `--report` prun wrote) as its reader sees it: valid by `check-jsonschema`
/// against `schemas/report-v1.schema.json`, and no field the schema forgot
/// (`check_schema`, stricter on that); the report, parsed.
#[track_caller]
pub(crate) fn check_report(file: &Path) -> Value {
    let schema_path = repo().join("schemas/report-v1.schema.json");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(file).expect("the report")).expect("JSON");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).unwrap()).unwrap();
    check_schema(&report, &schema, &schema, "report").unwrap();
    facility::need(&[facility::Facility::Reader("check-jsonschema")]);
    let out = Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(&schema_path)
        .arg(file)
        .output()
        .expect("run check-jsonschema");
    assert!(
        out.status.success(),
        "check-jsonschema: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// `v` against the part of JSON Schema prun's schemas use (`$ref` to `$defs`, `anyOf`,
/// `type`, `enum`, `const`, bounds, `required`, `properties`, `additionalProperties`,
/// `items`); `Err` says where and why. Stricter than JSON Schema in one way, on purpose:
/// a key not listed in `properties` is an error unless `additionalProperties` allows it,
/// so a field prun writes or reads that a schema forgot is caught (drift).
pub(crate) fn check_schema(v: &Value, s: &Value, root: &Value, path: &str) -> Result<(), String> {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        return check_schema(v, &root["$defs"][name], root, path);
    }
    if let Some(any) = s.get("anyOf").and_then(Value::as_array)
        && !any
            .iter()
            .any(|alt| check_schema(v, alt, root, path).is_ok())
    {
        return Err(format!("{path}: {v} matches none of the forms"));
    }
    if let Some(t) = s.get("type") {
        let types: Vec<&str> = match t {
            Value::String(t) => vec![t.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let ok = types.iter().any(|t| match *t {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "integer" => v.is_i64() || v.is_u64(),
            "number" => v.is_number(),
            "boolean" => v.is_boolean(),
            "null" => v.is_null(),
            _ => false,
        });
        if !ok {
            return Err(format!("{path}: {v} is not {types:?}"));
        }
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        return Err(format!("{path}: {v} is not one of {e:?}"));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        return Err(format!("{path}: {v} is not {c}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        return Err(format!("{path}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (s.get("maximum").and_then(Value::as_f64), v.as_f64())
        && n > max
    {
        return Err(format!("{path}: {n} > {max}"));
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for k in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !obj.contains_key(k.as_str().unwrap()) {
                return Err(format!("{path}: missing {k}"));
            }
        }
        for (k, val) in obj {
            let sub = props.and_then(|p| p.get(k));
            match (sub, s.get("additionalProperties")) {
                (Some(sub), _) => check_schema(val, sub, root, &format!("{path}.{k}"))?,
                (None, Some(extra)) if extra.is_object() => {
                    check_schema(val, extra, root, &format!("{path}.{k}"))?;
                }
                (None, Some(Value::Bool(true))) => {}
                (None, None) if props.is_none() => {}
                (None, _) => return Err(format!("{path}: unknown key {k}")),
            }
        }
    }
    if let (Some(min), Some(arr)) = (s.get("minItems").and_then(Value::as_u64), v.as_array())
        && (arr.len() as u64) < min
    {
        return Err(format!("{path}: fewer than {min} items"));
    }
    if let (Some(min), Some(text)) = (s.get("minLength").and_then(Value::as_u64), v.as_str())
        && (text.chars().count() as u64) < min
    {
        return Err(format!("{path}: shorter than {min}"));
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            check_schema(item, items, root, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

/// This test's own cgroup v2 directory.
pub(crate) fn own_cgroup_dir() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mount = mountinfo.lines().find_map(|l| {
        let (fields, fs) = l.split_once(" - ")?;
        (fs.starts_with("cgroup2 ")).then(|| fields.split_whitespace().nth(4).map(str::to_owned))?
    })?;
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let own = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    Some(Path::new(&mount).join(own.trim_start_matches('/')))
}
