#!/usr/bin/env python3
"""Native links through the front (issue 11): what mutual TLS costs next to
plain links, and what the front itself costs per frame.

  bench/native_rows.py [--quick] [--repeats N]   the rows alone
  native_rows(args, row)                         the same, for bench.py

Rows, each TLS run next to a plain run taken in the same invocation
(alternating, medians kept; the machine is shared):
  - full sync of N blocks over CAF, one-block catch-up after N shared, push
    gossip latency (as bench.py's native section measures them);
  - dlt-load --spawn 3 --native (24 clients, tx=70 mine=20 consensus=10):
    operations per second and consensus p50;
  - the front's own CPU time (its thread, "native-front", from
    /proc/PID/task/TID/schedstat) per frame, for small frames (pipelined
    head requests from a raw BASP client) and per MB of blocks answers.
"""
import argparse
import json
import os
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, HERE)

BUILD = os.environ.get("DLT_BUILD") or os.path.join(ROOT, "build")
os.environ.setdefault("DLT_NODE", os.path.join(BUILD, "dlt-node"))

import basp_client as basp  # noqa: E402
from fake_peers import make_chain  # noqa: E402
from harness import NODE_BINARY, Client, Node, call  # noqa: E402
from peers import PeerFarm  # noqa: E402

CERTS = os.path.join(ROOT, "packaging", "tls", "make-certs.sh")


class Pki:
    """A CA and three node certificates from packaging/tls/make-certs.sh."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dlt-bench-tls-")
        quiet = {"check": True, "stdout": subprocess.DEVNULL}
        subprocess.run(["sh", CERTS, "ca", self.dir], **quiet)
        for name in ("n1", "n2", "n3", "client"):
            subprocess.run(["sh", CERTS, "node", self.dir, name], **quiet)

    def args(self, name):
        return ["--caf-tls-cert", os.path.join(self.dir, name + ".pem"),
                "--caf-tls-key", os.path.join(self.dir, name + ".key"),
                "--caf-tls-ca", os.path.join(self.dir, "ca.pem")]

    def client(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(os.path.join(self.dir, "ca.pem"))
        ctx.load_cert_chain(os.path.join(self.dir, "client.pem"),
                            os.path.join(self.dir, "client.key"))
        return ctx

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def timed_consensus(url):
    start = time.monotonic()
    status, body = call(url, "POST", "/nodes/consensus", {}, timeout=600)
    assert status == 200, status
    return body["status"], time.monotonic() - start


def tls_args(pki, name):
    return pki.args(name) if pki else []


# -- sync, catch-up, gossip ---------------------------------------------------------

def links(args, pki):
    """Full sync, median one-block catch-up and median push lag."""
    n = 2000 if args.quick else 20000
    chain = make_chain(n, tag="native")
    farm = PeerFarm([json.dumps({"chain": chain, "is_valid": True}).encode()])
    out = {}
    try:
        with Node("--caf-port", "0", *tls_args(pki, "n1")) as a, \
                Node("--caf-port", "0", *tls_args(pki, "n2")) as b:
            call(a.url, "POST", "/nodes/register", {"nodes": farm.addresses})
            assert timed_consensus(a.url)[0] == "Chain replaced"
            call(b.url, "POST", "/nodes/register", {"nodes": [a.caf_address]})
            status, out["full"] = timed_consensus(b.url)
            assert status == "Chain replaced", status
            catch_up = []
            for i in range(1 if args.quick else 5):
                call(a.url, "POST", "/transactions/new", {"data": "one more %d" % i})
                call(a.url, "POST", "/mine")
                status, took = timed_consensus(b.url)
                assert status == "Chain replaced", status
                catch_up.append(took)
            out["one"] = statistics.median(catch_up)
    finally:
        farm.close()
    with Node("--caf-port", "0", "--ephemeral", *tls_args(pki, "n1")) as a, \
            Node("--caf-port", "0", "--ephemeral", "--gossip", "push",
                 *tls_args(pki, "n2")) as b:
        call(b.url, "POST", "/nodes/register", {"nodes": [a.caf_address]})
        call(a.url, "POST", "/nodes/register", {"nodes": [b.caf_address]})
        time.sleep(0.5)
        out["push"] = statistics.median(push_lags(a.url, b.url, 3 if args.quick else 20))
    return out


# -- dlt-load --native ----------------------------------------------------------------

LOAD_LINE = re.compile(r"^(tx|mine|consensus)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+"
                       r"([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*$", re.M)


def dlt_load(args, pki, workdir):
    """One dlt-load --native run: operations per second, consensus p50 ms."""
    binary = NODE_BINARY
    if pki:
        # dlt-load starts nodes itself: a wrapper adds the TLS files (one
        # certificate for all three nodes: the CA is the membership).
        binary = os.path.join(workdir, "dlt-node-tls")
        with open(binary, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\" %s\n"
                    % (NODE_BINARY, " ".join(pki.args("n3"))))
        os.chmod(binary, 0o755)
    seconds = "2" if args.quick else "3"
    out = subprocess.run([os.path.join(BUILD, "bench", "dlt-load"), "--spawn", "3",
                          "--native", "--duration", seconds, "--clients", "24",
                          "--mix", "tx=70,mine=20,consensus=10",
                          "--node-binary", binary],
                         capture_output=True, text=True, timeout=600).stdout
    assert "0 lost, 0 duplicated" in out, out[-2000:]
    ops = {m.group(1): m for m in LOAD_LINE.finditer(out)}
    total = sum(int(m.group(4)) for m in ops.values())
    return total, float(ops["consensus"].group(5))


# -- the front's own cost --------------------------------------------------------------

def front_cpu_ns(pid):
    """CPU time of the node's front thread, in nanoseconds."""
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open(os.path.join(task, tid, "comm")) as f:
                if f.read().strip() != "native-front":
                    continue
            with open(os.path.join(task, tid, "schedstat")) as f:
                return int(f.read().split()[0])
        except OSError:
            continue
    raise RuntimeError("no native-front thread in %d" % pid)


def connect(node, pki):
    port = int(node.caf_address.rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock = pki.client().wrap_socket(raw) if pki else raw
    c = basp.Connection(0, sock=sock, timeout=30)
    c.handshake()
    return c


def front_cost(args, pki):
    """(ns per small frame, ns per MB of blocks answers) of the front."""
    rounds = 2000 if args.quick else 20000
    window = 32  # below the front's 64 requests in flight
    with Node("--caf-port", "0", "--ephemeral", "--max-body-bytes", "200000",
              *tls_args(pki, "n1")) as n:
        for i in range(40):  # ~4 MB of blocks
            call(n.url, "POST", "/transactions/new", {"data": "%d" % i + "x" * 100000})
            call(n.url, "POST", "/mine")
        c = connect(n, pki)
        head = basp.head_request()
        before = front_cpu_ns(n.proc.pid)
        sent = answered = 0
        batch = b""
        while sent < window:
            sent += 1
            mid = 0x1000000000000000 | (sent + 1)
            batch += basp.header(basp.DIRECT, 0, len(head), mid, c.actor, c.face) + head
        c.send(batch)
        frames_in = 0
        while answered < rounds:
            f = c.read_frame()
            frames_in += 1
            if f.op == basp.DIRECT and f.op_data & basp.RESPONSE:
                answered += 1
                if sent < rounds:
                    sent += 1
                    c.send(basp.header(basp.DIRECT, 0, len(head),
                                       0x1000000000000000 | (sent + 1), c.actor,
                                       c.face) + head)
        small = (front_cpu_ns(n.proc.pid) - before) / (rounds + frames_in)
        # Large frames: the whole chain, again and again, as an honest
        # reader takes it (the face's budget may shorten some answers).
        c.next_request = rounds + 10
        moved = 0
        before = front_cpu_ns(n.proc.pid)
        for _ in range(5 if args.quick else 20):
            f = c.answer_to(c.request(basp.blocks_request([], [], 100000)), timeout=60)
            moved += f.length
            time.sleep(0.15)
        per_mb = (front_cpu_ns(n.proc.pid) - before) / (moved / 1e6)
        c.close()
    return small, per_mb, moved


def push_lags(poll_url, miner_url, count):
    """Mines `count` blocks on miner_url (which pushes them to poll_url's
    node) and returns, per block, the seconds from the /mine answer until
    GET /chain on poll_url shows it (polled on a keep-alive connection)."""
    lags = []
    poll, miner = Client(poll_url), Client(miner_url)
    try:
        for i in range(count):
            miner.request("POST", "/transactions/new", {"data": "pushed %d" % i})
            _, body, _ = miner.request("POST", "/mine")
            mined = time.monotonic()
            want = body["new_block"]["index"]
            while time.monotonic() - mined < 10:
                _, got, _ = poll.request("GET", "/chain")
                if len(got["chain"]) >= want:
                    break
            lags.append(time.monotonic() - mined)
    finally:
        poll.close()
        miner.close()
    return lags


# -- the rows ----------------------------------------------------------------------------

def native_rows(args, row):
    repeats = 1 if args.quick else getattr(args, "repeats", 3)
    load_before = os.getloadavg()
    pki = Pki()
    work = tempfile.mkdtemp(prefix="dlt-bench-native-")
    try:
        plain, tls = [], []
        # Alternating, as the machine drifts; at least five each: a full
        # sync is one sample per run, and three let one slow run decide.
        links_repeats = repeats if args.quick else max(repeats, 5)
        for _ in range(links_repeats):
            plain.append(links(args, None))
            tls.append(links(args, pki))
        med = lambda runs, key: statistics.median(r[key] for r in runs)
        n = 2000 if args.quick else 20000
        for key, case, fmt in (("full", "full sync of %d blocks over CAF" % n, "%.3f s"),
                               ("one", "catch up 1 block after %d shared" % n, "%.4f s"),
                               ("push", "push gossip, mined block on a linked node",
                                "%.1f ms")):
            p, t = med(plain, key), med(tls, key)
            scale = 1000 if key == "push" else 1
            row(case + ", TLS", fmt % (t * scale), "plain " + fmt % (p * scale), t / p,
                None if args.quick else ("<=", 1.2),
                "median of %d alternating runs each" % links_repeats)
        loads = {"plain": [], "TLS": []}
        for _ in range(repeats):
            loads["plain"].append(dlt_load(args, None, work))
            loads["TLS"].append(dlt_load(args, pki, work))
        ops = {k: statistics.median(v[0] for v in runs) for k, runs in loads.items()}
        p50 = {k: statistics.median(v[1] for v in runs) for k, runs in loads.items()}
        row("dlt-load --spawn 3 --native, TLS (operations)",
            "%d ops, consensus p50 %.1f ms" % (ops["TLS"], p50["TLS"]),
            "plain %d ops, consensus p50 %.1f ms" % (ops["plain"], p50["plain"]),
            ops["TLS"] / ops["plain"], None if args.quick else (">=", 0.8),
            "24 clients, tx=70 mine=20 consensus=10, %s s; median of %d"
            % ("2" if args.quick else "3", repeats))
        for label, mode in (("plain", None), ("TLS", pki)):
            small, per_mb, moved = front_cost(args, mode)
            row("front CPU per small frame, %s" % label, "%.1f us" % (small / 1000),
                "", None, None,
                "pipelined head requests from a raw BASP client: requests and "
                "answers relayed, each judged")
            row("front CPU per MB of blocks answers, %s" % label,
                "%.2f ms" % (per_mb / 1e6), "", None, None,
                "%.0f MB relayed in whole-chain answers" % (moved / 1e6))
    finally:
        pki.close()
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    print("  load average before %.2f %.2f %.2f, after %.2f %.2f %.2f (%d cores)"
          % (load_before + load_after + (os.cpu_count(),)), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    def row(case, node, bound, ratio=None, target=None, notes=""):
        met = ""
        if target is not None and ratio is not None:
            kind, value = target
            met = "yes" if (ratio >= value if kind == ">=" else ratio <= value) else "NO"
        print("  %-46s %-34s %-34s %6s %-4s %s" % (
            case, node, bound, "" if ratio is None else "%.2f" % ratio, met, notes),
            flush=True)

    native_rows(args, row)


if __name__ == "__main__":
    main()
