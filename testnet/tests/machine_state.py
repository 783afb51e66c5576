"""What a testnet run may leave on the machine, and whether it did: used by
the end-to-end tests (e2e_*.py) before and after a run."""
import glob
import os
import re
import shutil
import subprocess

OUR_LINK = re.compile(r"^(eth0|br0|p\d+|dtn.*)$")


def _run(cmd):
    if shutil.which(cmd[0]) is None:
        return ""
    return subprocess.run(cmd, capture_output=True, text=True).stdout


def _cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def snapshot():
    links = set()
    for line in _run(["ip", "-o", "link", "show"]).splitlines():
        parts = line.split(":")
        if len(parts) > 1:
            links.add(parts[1].strip().split("@")[0])
    procs = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            cmd = _cmdline(pid)
            if "dtn-" in cmd or "dlt-testnet-link" in cmd or "198.18." in cmd:
                procs[int(pid)] = cmd
    return {
        "namespaces": set(n for n in (os.listdir("/run/netns")
                                      if os.path.isdir("/run/netns") else [])
                          if n.startswith("dtn-")),
        "links": links,
        "nft_tables": set(_run(["nft", "list", "tables"]).split("\n")) - {""},
        "iptables": set(l for l in _run(["iptables-save"]).splitlines()
                        if l.startswith("-A")),
        "processes": procs,
        "state_files": set(glob.glob("/run/dlt-testnet/*.json")),
        "workdirs": set(glob.glob("/tmp/dtn-*")),
    }


def leftovers(before, after, run_id=None):
    """Things of ours present after but not before (or named by run_id)."""
    out = []
    tag = "dtn-%s" % run_id if run_id else None
    for n in sorted(after["namespaces"] - before["namespaces"]):
        out.append("namespace %s" % n)
    if tag:
        out += ["namespace %s" % n for n in sorted(after["namespaces"])
                if n.startswith(tag + "-") and "namespace %s" % n not in out]
    for l in sorted(after["links"] - before["links"]):
        if OUR_LINK.match(l):
            out.append("link %s in the root namespace" % l)
    for t in sorted(after["nft_tables"] - before["nft_tables"]):
        out.append("nftables %s in the root namespace" % t)
    for r in sorted(after["iptables"] - before["iptables"]):
        if "NFQUEUE" in r or "198.18." in r:
            out.append("iptables rule %r in the root namespace" % r)
    for pid, cmd in sorted(after["processes"].items()):
        if pid not in before["processes"] and (not tag or tag in cmd or "198.18." in cmd
                                               or "dlt-testnet-link" in cmd):
            out.append("process %d: %s" % (pid, cmd[:160]))
    for f in sorted(after["state_files"] - before["state_files"]):
        out.append("state file %s" % f)
    for d in sorted(after["workdirs"] - before["workdirs"]):
        out.append("work directory %s" % d)
    return out


def can_run():
    """(True, "") or (False, why) -- the only reason to skip."""
    if os.geteuid() != 0:
        return False, "network namespaces need root; running as uid %d" % os.geteuid()
    if shutil.which("ip") is None:
        return False, "iproute2 (ip) is not installed"
    name = "dtn-probe%d-x" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return False, "cannot create a network namespace: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True, ""
