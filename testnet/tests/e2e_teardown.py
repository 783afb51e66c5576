"""CTest testnet.teardown: whatever way a run ends, the machine is left as it
was -- Ctrl-C (SIGINT) and SIGTERM in the middle of the load, a run that
fails (nodes that cannot start), and a runner killed with SIGKILL, whose
leftovers `dlt-testnet clean` and the next run remove.
Skips (exit 77, saying why) only where network namespaces cannot be made.

usage: e2e_teardown.py DLT_TESTNET OUT_DIR"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests import machine_state  # noqa: E402

LONG = """
[network]
nodes = 4
reference_nodes = 1
latency_ms = 20
jitter_ms = 5
loss_percent = 1
node_args = ["--requeue-orphans"]
[load]
duration_s = 300
tx_per_s = 20
miners = 2
[[perturb]]
at_s = 1
kind = "partition"
groups = [[0, 1], [2, 4]]
[[perturb]]
at_s = 2
kind = "pause"
nodes = [3]
"""

SHORT = """
[network]
nodes = 3
[load]
duration_s = 2
tx_per_s = 10
miners = 1
"""

BROKEN = """
[network]
nodes = 3
node_args = ["--no-such-option"]
[load]
duration_s = 2
"""

failures = []


def expect(cond, what):
    print(("ok:   " if cond else "FAIL: ") + what, flush=True)
    if not cond:
        failures.append(what)


def write(out, name, text):
    path = os.path.join(out, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path


def start(runner, manifest, out):
    return subprocess.Popen([runner, "run", manifest, "--out", out],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for_line(proc, needle, timeout):
    """Reads the runner's output until a line contains needle."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        print("  | " + line.rstrip(), flush=True)
        if needle in line:
            return True
    print("".join(seen[-20:]))
    return False


def new_run_ids(before):
    return sorted({os.path.basename(p)[:-5] for p in glob.glob("/run/dlt-testnet/*.json")}
                  - {os.path.basename(p)[:-5] for p in before["state_files"]})


def interrupted(runner, out, sig):
    before = machine_state.snapshot()
    sub = os.path.join(out, sig.name)
    proc = start(runner, write(out, "long", LONG), sub)
    expect(wait_for_line(proc, "t=2.0s pause", 120), "%s: the load is running" % sig.name)
    ids = new_run_ids(before)
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=120)
    print("  | " + rest.replace("\n", "\n  | "))
    expect(proc.returncode == 130, "%s: exit status 130 (got %s)" % (sig.name, proc.returncode))
    with open(os.path.join(sub, "report.json")) as f:
        rep = json.load(f)
    expect("interrupted" in rep.get("aborted", ""), "%s: the report says it was interrupted"
           % sig.name)
    expect(rep["checks"]["run_completed"]["pass"] is False,
           "%s: run_completed fails in the partial report" % sig.name)
    left = machine_state.leftovers(before, machine_state.snapshot(), ids[0] if ids else None)
    expect(not left, "%s: nothing left behind %s" % (sig.name, left or ""))


def broken(runner, out):
    before = machine_state.snapshot()
    proc = subprocess.run([runner, "run", write(out, "broken", BROKEN), "--out",
                           os.path.join(out, "broken")], capture_output=True, text=True,
                          timeout=300)
    print(proc.stdout[-1500:], proc.stderr[-1500:])
    expect(proc.returncode == 3, "failed set-up: exit status 3 (got %d)" % proc.returncode)
    expect("did not start" in proc.stdout + proc.stderr, "failed set-up: says why")
    left = machine_state.leftovers(before, machine_state.snapshot())
    expect(not left, "failed set-up: nothing left behind %s" % (left or ""))


def crashed(runner, out, then):
    before = machine_state.snapshot()
    proc = start(runner, write(out, "long", LONG), os.path.join(out, "crash-" + then))
    expect(wait_for_line(proc, "t=1.0s partition", 120), "crash: the load is running")
    ids = new_run_ids(before)
    expect(len(ids) == 1, "crash: one new run (%s)" % ids)
    proc.kill()
    proc.wait()
    proc.stdout.close()
    # Its nodes die with it (PR_SET_PDEATHSIG); its namespaces stay.
    time.sleep(1.0)
    mid = machine_state.snapshot()
    expect(any(n.startswith("dtn-%s-" % ids[0]) for n in mid["namespaces"]),
           "crash: the killed run's namespaces are still there (the test means something)")
    if then == "clean":
        r = subprocess.run([runner, "clean"], capture_output=True, text=True, timeout=120)
        print(r.stdout, r.stderr)
        expect(r.returncode == 0 and "removed" in r.stdout, "crash: clean removed it")
    else:
        r = subprocess.run([runner, "run", write(out, "short", SHORT), "--out",
                            os.path.join(out, "short")], capture_output=True,
                           text=True, timeout=300)
        print(r.stdout[-2000:], r.stderr[-1000:])
        expect("removed leftovers of run %s" % ids[0] in r.stdout,
               "crash: the next run removed the leftovers first")
        expect(r.returncode == 0, "crash: the next run passed (exit %d)" % r.returncode)
    left = machine_state.leftovers(before, machine_state.snapshot(), ids[0])
    expect(not left, "crash: nothing left behind %s" % (left or ""))


def main():
    runner, out = sys.argv[1:3]
    ok, why = machine_state.can_run()
    if not ok:
        print("SKIP: dlt-testnet cannot run here: %s" % why, flush=True)
        return 77
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    interrupted(runner, out, signal.SIGINT)
    interrupted(runner, out, signal.SIGTERM)
    broken(runner, out)
    crashed(runner, out, "clean")
    crashed(runner, out, "run")
    if failures:
        print("FAILED: %d: %s" % (len(failures), failures))
        return 1
    print("OK: nothing left behind on any path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
