#!/usr/bin/env python3
"""A bounded fuzz run of prun on mutated example jobfiles (issue: a shared machine).

Each of the jobfiles in jobfiles/ is mutated (a line deleted, a value's type swapped,
unicode and control characters, huge numbers, deep nesting, an alias bomb) and given to
`prun FILE --check`, then to a real run as `nobody` (when root) in a scratch directory,
which is sent SIGTERM after a few seconds. A finding is any of:

- a panic (exit 70 or 101, or "panicked at" on stderr), or prun killed by a signal;
- a hang: `--check` past its limit, or a run still there 15 s after its SIGTERM;
- an unlocated error: exit 2 whose message does not name the jobfile.

Usage: scripts/fuzz.py PRUN [--seed N] [--count N] [--seconds N] [--jobfiles DIR]
                        [--expect-findings]
Prints the seed and count; exits 1 with each finding (and its jobfile kept) if any.
`--expect-findings` turns it round, to prove the fuzzer catches a known bug (a debug
build with PRUN_TEST_PANIC=driver in `.ci/run`; an older build with that build's own
jobfiles, `--jobfiles`): exit 0 only if it found something.
"""

import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOBODY = 65534

WEIRD = [
    "\u0000", "\u0007", "\u001b[31m", "\u202e", "\ufeff", "\ufffe", "\U0001f600", "é",
    "\r", "\t", "%", "${{", "}}", "\\", "'", '"', ":", "- ", "#", "&a", "*a", "!!binary",
]
HUGE = ["99999999999999999999999", "-1", "0", "1e308", "18446744073709551616",
        "500000000000y", "1ns", "0s", "nan", ".inf"]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    kind = rng.randrange(10)
    i = rng.randrange(len(lines)) if lines else 0
    if kind == 0 and lines:                       # delete a line
        del lines[i]
    elif kind == 1 and lines:                     # duplicate a line
        lines.insert(i, lines[i])
    elif kind == 2 and lines:                     # a weird character somewhere
        line = lines[i]
        at = rng.randrange(len(line) + 1)
        lines[i] = line[:at] + rng.choice(WEIRD) + line[at:]
    elif kind == 3:                               # a value's type swapped / a huge number
        for _ in range(10):
            j = rng.randrange(len(lines))
            m = re.match(r"^(\s*(?:- )?[A-Za-z_]+:\s*)(\S.*)$", lines[j])
            if m:
                new = rng.choice(HUGE + ["[a, b]", "{x: 1}", "true", "~", "''", "[]", "{}"])
                lines[j] = m.group(1) + new
                break
    elif kind == 4:                               # deep nesting
        depth = rng.choice([50, 500, 5000])
        lines.append("x_deep: " + "[" * depth + "]" * depth)
    elif kind == 5:                               # an alias bomb
        bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        for n in range(1, 9):
            bomb.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
        lines = bomb + lines
    elif kind == 6 and lines:                     # indentation broken
        lines[i] = " " * rng.randrange(1, 7) + lines[i]
    elif kind == 7:                               # a duration or number anywhere, huge
        spots = [(j, m) for j, line in enumerate(lines)
                 for m in re.finditer(r"\b\d+(?:ms|s|m|h|d)?\b", line)]
        if spots:
            j, m = rng.choice(spots)
            lines[j] = lines[j][:m.start()] + rng.choice(HUGE) + lines[j][m.end():]
    elif kind == 8:                               # every duration and number, huge
        huge = rng.choice(HUGE)
        lines = [re.sub(r"\b\d+(?:ms|s|m|h|d)?\b", huge, line) for line in lines]
    else:                                         # two mutations
        return mutate(mutate(text, rng), rng)
    return "\n".join(lines)


def plant(text: str, work: str, rng: random.Random) -> None:
    """Another user's files where the jobfile looks (the places it names in the scratch
    directory): a FIFO at a plain path, a non-UTF-8 name and a FIFO matching a glob."""
    for m in re.finditer(re.escape(work) + r"/[^\s'\"\]\},]+", text):
        spot = m.group(0)
        parent = os.path.dirname(spot)
        try:
            os.makedirs(parent, exist_ok=True)
            if any(c in spot for c in "*?["):
                leaf = re.sub(r"[*?]|\[[^\]]*\]", "x", os.path.basename(spot))
                bad = os.fsencode(parent) + b"/\xff" + os.fsencode(leaf)
                open(bad, "wb").close()
                os.mkfifo(os.path.join(parent, "fifo-" + leaf))
            elif rng.random() < 0.5 and not os.path.exists(spot):
                os.mkfifo(spot)
        except OSError:
            pass


def as_nobody(cmd):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return cmd
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + cmd


def check(prun, path, name, limit):
    """`prun FILE --check`: a finding, or None."""
    try:
        p = subprocess.run([prun, path, "--check"], capture_output=True, timeout=limit,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return f"--check still running after {limit}s"
    return judge(p.returncode, p.stderr.decode("utf-8", "replace"), name)


def judge(code, err, name, located=True):
    """A finding in how prun ended, or None. `located`: an exit 2 must name the jobfile
    (`--check`: every error there is about its text)."""
    if code in (70, 101) or "panicked at" in err:
        return f"panic (exit {code}): {err[:400]}"
    if code < 0:
        return f"killed by signal {-code}: {err[:400]}"
    if located and code == 2 and name not in err:
        return f"an error that does not name {name}: {err[:400]}"
    return None


def run(prun, path, name, work, stop_after):
    """A real run as nobody in `work`, SIGTERM after `stop_after` s: a finding, or None."""
    env = dict(os.environ, HOME=work, TMPDIR=work, NO_COLOR="1")
    p = subprocess.Popen(as_nobody([prun, path, "-j", "4", "--grace", "2s"]),
                         cwd=work, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    try:
        _, err = p.communicate(timeout=stop_after)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            return "a run still there 15 s after its SIGTERM"
    # A run's exit 2 may be about a path the jobfile names (a history another user
    # owns): said, not a finding; its text was located by --check already.
    return judge(p.returncode, err.decode("utf-8", "replace"), name, located=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("prun")
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--jobfiles", default=os.path.join(ROOT, "jobfiles"))
    ap.add_argument("--expect-findings", action="store_true")
    a = ap.parse_args()
    prun = os.path.abspath(a.prun)
    rng = random.Random(a.seed)
    examples = sorted(os.path.join(a.jobfiles, f) for f in os.listdir(a.jobfiles)
                      if f.endswith(".yaml"))
    # Monitors ping a closed port on loopback, never a real service.
    texts = [(os.path.basename(f),
              re.sub(r"https?://[^\s'\"]+", "http://127.0.0.1:9/x",
                     open(f, encoding="utf-8").read()))
             for f in examples]
    print(f"fuzz: seed {a.seed}, up to {a.count} mutants or {a.seconds:.0f}s", flush=True)
    keep = tempfile.mkdtemp(prefix="prun-fuzz-")
    findings, done, runs, start = [], 0, 0, time.monotonic()
    while done < a.count and time.monotonic() - start < a.seconds:
        base, text = rng.choice(texts)
        mutant = mutate(text, rng)
        name = f"m{done:04d}-{base}"
        work = tempfile.mkdtemp(prefix="prun-fuzz-run-")
        os.chmod(work, 0o777)
        # The examples' own places under /tmp (a history, metrics) go into the scratch
        # directory: a run as nobody must leave nothing a later run of root's would find.
        mutant = mutant.replace("/tmp", work)
        path = os.path.join(work, name)
        with open(path, "w", encoding="utf-8", errors="surrogatepass") as f:
            f.write(mutant)
        if rng.random() < 0.5:
            plant(mutant, work, rng)
        finding = check(prun, path, name, limit=20)
        # A real run for one mutant in two that passes --check (a run takes seconds).
        if finding is None and rng.random() < 0.5:
            probe = subprocess.run([prun, path, "--check"], capture_output=True,
                                   stdin=subprocess.DEVNULL, timeout=20)
            if probe.returncode == 0:
                runs += 1
                finding = run(prun, path, name, work, stop_after=rng.choice([0.2, 2, 5]))
        if finding:
            kept = os.path.join(keep, name)
            shutil.copy(path, kept)
            findings.append(f"{kept}: {finding}")
        shutil.rmtree(work, ignore_errors=True)
        done += 1
    print(f"fuzz: seed {a.seed}: {done} mutants, {runs} real runs, "
          f"{len(findings)} finding(s) in {time.monotonic() - start:.0f}s", flush=True)
    for f in findings:
        print(f"  {f}")
    if not findings:
        shutil.rmtree(keep, ignore_errors=True)
    if a.expect_findings:
        print("fuzz: a known bug " + ("caught" if findings else "NOT caught"), flush=True)
        return 0 if findings else 1
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
