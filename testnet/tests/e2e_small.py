"""CTest testnet.small: runs a small real testnet (examples/small.toml: 12
nodes, 30 s, a partition, a kill and a pause over 50 +- 10 ms links with 1%
loss) and passes only if the runner's verdict holds, the report has every
field the issue asks for, and nothing of the run is left on the machine.
Skips (exit 77, saying why) only where network namespaces cannot be made.

usage: e2e_small.py DLT_TESTNET MANIFEST OUT_DIR"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests import machine_state  # noqa: E402
from dlt_testnet import manifest as manifest_mod  # noqa: E402

FIELDS = {"nodes": int, "reference_nodes": int, "converged": bool,
          "distinct_tips": int, "acknowledged_tx": int, "lost_tx": int,
          "duplicated_tx": int, "blocks": int, "orphaned_blocks": int,
          "propagation_ms": dict, "convergence_s": (int, float),
          "perturbations": list, "settle": dict, "throughput_tx_s": (int, float),
          "rss_mb": dict, "link_emulation": dict, "checks": dict}


def fail(why):
    print("FAIL: " + why, flush=True)
    sys.exit(1)


def check_report(rep, m):
    for key, kind in FIELDS.items():
        if key not in rep:
            fail("report.json lacks %r" % key)
        if not isinstance(rep[key], kind) or (kind is int and isinstance(rep[key], bool)):
            fail("report.json %r is %r, not %s" % (key, rep[key], kind))
    for k in ("p50", "p90", "p99", "max"):
        if not isinstance(rep["propagation_ms"].get(k), (int, float)):
            fail("propagation_ms.%s is %r" % (k, rep["propagation_ms"].get(k)))
    if not rep["propagation_ms"]["p50"] <= rep["propagation_ms"]["p99"] \
            <= rep["propagation_ms"]["max"]:
        fail("propagation percentiles out of order: %r" % rep["propagation_ms"])
    if set(rep["rss_mb"]) < {"max", "sum"} or rep["rss_mb"]["max"] <= 0:
        fail("rss_mb is %r" % rep["rss_mb"])
    if rep["nodes"] != m.network.nodes or rep["reference_nodes"] != m.network.reference_nodes:
        fail("node counts differ from the manifest")
    kinds = [(p["kind"], p["at_s"]) for p in rep["perturbations"]]
    want = [(p.kind, p.at_s) for p in sorted(m.perturb, key=lambda p: p.number)]
    if kinds != want:
        fail("perturbations %r, manifest says %r" % (kinds, want))
    for p in rep["perturbations"]:
        if not isinstance(p.get("recovered_s"), (int, float)):
            fail("perturbation %r has no recovered_s" % p)
        carries = ("nodes" in p) + ("groups" in p)
        if carries != (0 if p["kind"] == "heal" else 1):
            fail("perturbation %r must carry its nodes or groups (heal: neither)" % p)
    for name, c in rep["checks"].items():
        if set(c) != {"pass", "reason"} or not isinstance(c["pass"], bool):
            fail("check %s is %r" % (name, c))
    bad = {n: c["reason"] for n, c in rep["checks"].items() if not c["pass"]}
    if bad:
        fail("checks failed: %s" % bad)
    if not (rep["converged"] and rep["distinct_tips"] == 1 and rep["lost_tx"] == 0
            and rep["duplicated_tx"] == 0 and rep["acknowledged_tx"] > 0):
        fail("the verdict's figures do not hold: converged %s, tips %s, lost %s, "
             "duplicated %s, acknowledged %s" % (
                 rep["converged"], rep["distinct_tips"], rep["lost_tx"],
                 rep["duplicated_tx"], rep["acknowledged_tx"]))
    if rep["link_emulation"].get("delay_method") not in ("nfqueue", "netem"):
        fail("no delay was applied: %r" % rep["link_emulation"].get("delay_method"))


def main():
    runner, manifest_path, out = sys.argv[1:4]
    ok, why = machine_state.can_run()
    if not ok:
        print("SKIP: dlt-testnet cannot run here: %s" % why, flush=True)
        return 77
    m = manifest_mod.load(manifest_path)
    shutil.rmtree(out, ignore_errors=True)
    before = machine_state.snapshot()
    t = time.monotonic()
    proc = subprocess.run([runner, "run", manifest_path, "--out", out],
                          timeout=840)
    print("dlt-testnet exited %d after %.1f s" % (proc.returncode,
                                                 time.monotonic() - t), flush=True)
    try:
        with open(os.path.join(out, "report.json")) as f:
            rep = json.load(f)
    except (OSError, ValueError) as e:
        fail("no report.json: %s" % e)
    left = machine_state.leftovers(before, machine_state.snapshot(), rep.get("run_id"))
    if left:
        fail("left on the machine: %s" % left)
    if proc.returncode != 0:
        fail("dlt-testnet exited %d (verdict %s)" % (proc.returncode, rep.get("verdict")))
    check_report(rep, m)
    with open(os.path.join(out, "prometheus-targets.json")) as f:
        targets = json.load(f)
    if len(targets) != m.network.nodes or not all(t["targets"] for t in targets):
        fail("prometheus-targets.json lists %d nodes" % len(targets))
    print("OK: verdict pass, report complete, nothing left behind")
    return 0


if __name__ == "__main__":
    sys.exit(main())
