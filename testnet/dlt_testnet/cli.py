"""dlt-testnet command line."""
import argparse
import os
import resource
import shutil
import sys

from . import manifest as manifest_mod
from . import netns, topology

DESCRIPTION = """\
Runs a network of real dlt-node processes on this machine, each in its own
network namespace behind an emulated link (latency, jitter, loss), drives
load through their REST APIs, applies the manifest's perturbations (kill,
restart, pause, resume, disconnect, connect, partition, heal), heals and
settles the network, verifies that every node holds the same valid chain
with every acknowledged transaction exactly once, and writes DIR/report.json
and DIR/prometheus-targets.json. Needs root (network namespaces)."""

EPILOG = """\
commands:
  run MANIFEST.toml   set up, load, perturb, settle, verify, report, tear down
  check MANIFEST.toml validate the manifest and print the plan; starts nothing
  clean               remove what crashed runs left (namespaces, processes,
                      work directories); live runs are left alone

exit status: 0 every check held; 1 a check failed; 2 bad manifest or command
line; 3 the run could not be set up or stopped early; 4 network namespaces
cannot be created here (not root); 130 interrupted (after tearing down).

Everything a run creates is named dtn-<run id>-... and removed at the end,
also on Ctrl-C, SIGTERM and failure; a run started after a crash removes the
crashed run's leftovers first. See testnet/README.md for the manifest keys."""


def _default(env, *candidates):
    v = os.environ.get(env)
    if v:
        return v
    for c in candidates:
        if c and os.path.exists(c):
            return c
    return candidates[0] if candidates else None


def parser():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(
        prog="dlt-testnet", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=["run", "check", "clean"], metavar="COMMAND",
                   help="run, check or clean (see below)")
    p.add_argument("manifest", nargs="?", help="the manifest (TOML)")
    p.add_argument("--out", metavar="DIR",
                   help="where report.json, prometheus-targets.json and the "
                        "node logs go [testnet-out/NAME]")
    p.add_argument("--keep", action="store_true",
                   help="after the report, keep the network up until Ctrl-C "
                        "(127.0.0.1:BASE+i forwards to node i), then tear down "
                        "and exit with the verdict's status")
    p.add_argument("--forward-base", type=int, default=18000, metavar="PORT",
                   help="first local port of the --keep forwards [18000]")
    p.add_argument("--keep-data", action="store_true",
                   help="leave the nodes' data directories (/tmp/dtn-ID)")
    p.add_argument("--node-binary", metavar="PATH",
                   default=_default("DLT_TESTNET_NODE", shutil.which("dlt-node")),
                   help="the dlt-node to run [next to dlt-testnet]")
    p.add_argument("--link-binary", metavar="PATH",
                   default=_default("DLT_TESTNET_LINK", shutil.which("dlt-testnet-link")),
                   help="the delay helper [dlt-testnet-link next to dlt-testnet]")
    p.add_argument("--ref-node", metavar="PATH",
                   default=_default("DLT_TESTNET_REF_NODE",
                                    os.path.join(here, "..", "ref_node.py")),
                   help="the reference node (tests/e2e/ref_node.py)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    if args.command == "clean":
        if os.geteuid() != 0:
            print("dlt-testnet: clean needs root", file=sys.stderr)
            return 4
        removed = netns.clean_leftovers()
        print("dlt-testnet: %s" % ("removed %d run(s)" % len(removed)
                                   if removed else "nothing left over"))
        return 0
    if not args.manifest:
        print("dlt-testnet: %s needs a manifest" % args.command, file=sys.stderr)
        return 2
    try:
        m = manifest_mod.load(args.manifest)
    except manifest_mod.ManifestError as e:
        print("dlt-testnet: %s" % e, file=sys.stderr)
        return 2
    for w in m.warnings:
        print("dlt-testnet: warning: %s" % w, file=sys.stderr)
    if args.command == "check":
        try:
            print_plan(m)
        except BrokenPipeError:   # `dlt-testnet check ... | head`
            pass
        return 0
    ok, why = netns.can_create_namespaces()
    if not ok:
        print("dlt-testnet: cannot run a testnet here: %s" % why, file=sys.stderr)
        return 4
    for what, path in (("dlt-node", args.node_binary),):
        if not path or not os.access(path, os.X_OK):
            print("dlt-testnet: %s not found (%s); build it or give --node-binary"
                  % (what, path), file=sys.stderr)
            return 2
    if m.network.reference_nodes and not (args.ref_node and os.path.exists(args.ref_node)):
        print("dlt-testnet: reference nodes need ref_node.py (%s); give --ref-node"
              % args.ref_node, file=sys.stderr)
        return 2
    args.out = args.out or os.path.join("testnet-out", m.name)
    args.node_binary = os.path.abspath(args.node_binary)
    if args.link_binary:
        args.link_binary = os.path.abspath(args.link_binary)
    args.ref_node = os.path.abspath(args.ref_node) if args.ref_node else None
    args.ref_launcher = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                     "ref_launcher.py")
    # A few connections per node (load, mining, events, polls) add up.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    from .runner import Runner
    return Runner(m, args).run()


def print_plan(m):
    net, ld = m.network, m.load
    adj = topology.graph(net.total, net.topology, net.degree, net.seed)
    edges = sum(len(a) for a in adj) // 2
    print("%s: %d dlt-nodes + %d reference nodes, %s links, %s topology "
          "(%d edges, connected: %s)" % (m.path, net.nodes, net.reference_nodes,
                                         net.link, net.topology, edges,
                                         topology.is_connected(adj)))
    print("  links: %g +- %g ms one way, %g%% loss; gossip %s, sync every %ds"
          % (net.latency_ms, net.jitter_ms, net.loss_percent, net.gossip,
             net.sync_interval_s))
    print("  load: %gs, %g tx/s to %s nodes, miners %s every %gs"
          % (ld.duration_s, ld.tx_per_s, ld.targets,
             topology.pick_miners(net.nodes, ld.miners, ld.miner_nodes),
             ld.mine_interval_s))
    for p in m.perturb:
        print("  at %6.1fs %s" % (p.at_s, p.describe()))
