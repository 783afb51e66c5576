"""report.json and the human summary, from what a run recorded."""
import datetime
import os

from . import analysis, topology


def _r(x, nd=3):
    return None if x is None else round(x, nd)


def _fault_windows(entries, load_start):
    out = []
    for e in entries:
        if e["kind"] in ("kill", "pause", "disconnect", "partition") \
                and e.get("applied_s") is not None:
            end = e.get("caught_up_s")
            if end is None:
                end = e.get("undone_s")
            out.append((load_start + e["applied_s"],
                        load_start + end if end is not None else float("inf")))
        elif e["kind"] == "restart" and e.get("applied_s") is not None:
            end = e.get("caught_up_s") or e["applied_s"]
            out.append((load_start + e["applied_s"], load_start + end))
    return out


def _perturbations(run, held, final_acks):
    out = []
    ls = run.load_start
    for e in run.plog:
        item = {k: e[k] for k in ("at_s", "kind") if k in e}
        for k in ("nodes", "groups"):
            if k in e:
                item[k] = e[k]
        item.update(number=e["number"], applied_s=e["applied_s"],
                    affected=e["affected"], undone_s=e["undone_s"],
                    undone_by=e["undone_by"], recovered_s=None)
        if e.get("error"):
            item["error"] = e["error"]
        fault = e["kind"] in ("kill", "pause", "disconnect", "partition")
        start = e["undone_s"] if fault else e["applied_s"]
        if start is not None and held is not None and e["affected"]:
            t = analysis.caught_up(e["affected"], ls + start, final_acks, held)
            if t is not None:
                item["caught_up_s"] = round(t - ls, 3)
                item["recovered_s"] = round(t - ls - start, 3)
                if fault and e["applied_s"] is not None:
                    item["outage_s"] = round(t - ls - e["applied_s"], 3)
            else:
                item["recovered_reason"] = "an affected node never held the chain's newest block"
        elif start is not None and not e["affected"]:
            item["recovered_s"] = 0.0
        out.append(item)
    return out


def build(run):
    m = run.m
    net, ld = m.network, m.load
    v = run.verification or {}
    rec = run.records
    mon = run.monitor
    ls = run.load_start
    dlt = [n for n in run.nodes if n.kind == "dlt"]
    refs = [n for n in run.nodes if n.kind == "ref"]
    acked_load = [a for a in rec.acked if a[4] == "load"]
    rep = {
        "tool": "dlt-testnet",
        "run_id": run.run_id,
        "manifest": os.path.abspath(m.path),
        "started_at": datetime.datetime.fromtimestamp(
            run.started_wall, datetime.timezone.utc).isoformat(timespec="seconds"),
        "nodes": net.nodes,
        "reference_nodes": net.reference_nodes,
        "link": net.link,
        "topology": {"kind": net.topology, "degree": net.degree,
                     "edges": sum(len(a) for a in run.adj) // 2,
                     "mean_degree": _r(sum(len(a) for a in run.adj) / max(1, len(run.adj)), 2),
                     "connected": topology.is_connected(run.adj)},
        "converged": bool(v) and v.get("distinct_tips") == 1 and v.get("same_chain", False),
        "distinct_tips": v.get("distinct_tips"),
        "acknowledged_tx": len(acked_load),
        "lost_tx": v.get("lost_tx"),
        "unsettled_tx": v.get("unsettled_tx"),
        "duplicated_tx": v.get("duplicated_tx"),
        "blocks": v.get("blocks"),
        "orphaned_blocks": None,
        "propagation_ms": None,
        "convergence_s": None,
        "perturbations": [],
        "settle": None,
        "throughput_tx_s": None,
        "rss_mb": {"max": _r(max((n.rss_max_kb for n in dlt), default=0) / 1024, 1),
                   "sum": _r(sum(n.rss_max_kb for n in dlt) / 1024, 1),
                   "mean": _r(sum(n.rss_max_kb for n in dlt) / 1024 / max(1, len(dlt)), 1)},
        "link_emulation": run.emu.describe() if run.emu else None,
        "checks": {},
    }
    if refs:
        rep["rss_mb_reference"] = {
            "max": _r(max(n.rss_max_kb for n in refs) / 1024, 1),
            "sum": _r(sum(n.rss_max_kb for n in refs) / 1024, 1)}
    if run.emu_snapshot and rep["link_emulation"] is not None:
        le = rep["link_emulation"]
        c = run.emu_snapshot["counters"]
        le["counters"] = c
        if c.get("forwarded"):
            le["measured_loss_percent"] = _r(100.0 * c.get("lost", 0) / c["forwarded"], 3)
        le["kernel_queue"] = run.emu_snapshot["kernel_queue"]
        le["helper"] = run.emu_snapshot["helper"]
        le["helper_cpu_s"] = run.emu_snapshot.get("helper_cpu_s")

    # -- load ------------------------------------------------------------------------
    load_s = (run.load_end - ls) if run.load_end is not None and ls is not None else None
    if load_s:
        rep["throughput_tx_s"] = _r(len(acked_load) / ld.duration_s, 1)
    rep["load"] = {
        "duration_s": ld.duration_s, "tx_per_s": ld.tx_per_s,
        "targets": ld.targets, "miners": run.miners,
        "mine_interval_s": ld.mine_interval_s,
        "acknowledged_tx": len(acked_load),
        "failed_tx": dict(rec.failed), "skipped_busy": rec.skipped_busy,
        "unanswered_tx": len(rec.uncertain),
        "unanswered_in_chain": v.get("uncertain_in_chain"),
        "blocks_mined": sum(1 for b in rec.mined.values() if b.phase == "load"),
        "empty_mines": rec.mine_empty, "failed_mines": dict(rec.mine_failed),
        "ack_latency_ms": analysis.percentiles(
            [(a[3] - a[2]) * 1000 for a in acked_load]),
    }

    # -- chain-derived figures ---------------------------------------------------------
    held = None
    final_acks = []
    if v.get("hashes") and mon is not None:
        canonical = set(v["hashes"])
        rep["orphaned_blocks"] = sum(1 for h in rec.mined if h not in canonical)
        held = [analysis.held_times(mon.history[i], mon.blocks)
                for i in range(len(run.nodes))]
        final_acks = sorted((b.t, h) for h, b in rec.mined.items() if h in canonical)
        rep["perturbations"] = _perturbations(run, held, final_acks)
        mined = {h: (b.t, b.node) for h, b in rec.mined.items() if b.phase == "load"}
        window = (ls, run.load_end)
        samples, missing = analysis.propagation_samples(
            mined, canonical, held, {}, window)
        windows = _fault_windows(rep["perturbations"], ls)

        def perturbed(h, _x):
            t = mined[h][0]
            return any(a <= t <= b for a, b in windows)
        quiet, _ = analysis.propagation_samples(mined, canonical, held, {},
                                                window, skip=perturbed)
        summary = mon.summary()
        prop = analysis.percentiles(samples)
        prop.update(
            blocks=sum(1 for h in mined if h in canonical),
            never_reached=missing, method=summary["method"],
            measured_from="the /mine acknowledgement on the miner",
            measured_to=("the first event (block/chain) showing the block in "
                         "the node's chain" if summary["method"] == "events" else
                         "the first poll showing the block in the node's chain "
                         "(resolution: the poll interval)"),
            unperturbed=analysis.percentiles(quiet),
            monitor=summary)
        rep["propagation_ms"] = prop
        # Convergence: from the last heal (a manifest heal or connect, or the
        # settle's own restore when it undid anything) until all tips agree.
        heals = [(t, label) for t, label, _ in run.restores
                 if "heal" in label or "connect" in label or label == "settle"]
        since, label = max(heals) if heals else (run.load_end, "end of load")
        agreed = analysis.first_agreement(mon.history, since)
        rep["convergence_s"] = _r(agreed - since) if agreed is not None else None
        rep["convergence_from"] = {"event": label, "at_s": _r(since - ls)}
    else:
        rep["perturbations"] = _perturbations(run, None, [])

    if run.settle_log is not None:
        s = dict(run.settle_log)
        for k in ("started_s", "restore_done_s"):
            if s.get(k) is not None:
                s[k] = _r(s[k] - ls)
        s["nodes_mined"] = len(s.get("nodes_mined", []))
        rep["settle"] = s

    # -- cost ----------------------------------------------------------------------------
    cpu_load = None
    if run.cpu_samples and ls is not None and run.load_end is not None:
        during = [c for c in run.cpu_samples if ls <= c[0] <= run.load_end]
        if len(during) >= 2 and during[-1][0] > during[0][0]:
            cpu_load = (during[-1][1] - during[0][1]) / (during[-1][0] - during[0][0])
    own = os.times()
    rep["cpu"] = {
        "nodes_cpu_s": _r(sum(n.cpu_s for n in run.nodes), 2),
        "dlt_nodes_cpu_s": _r(sum(n.cpu_s for n in dlt), 2),
        "nodes_cores_during_load": _r(cpu_load, 3),
        "runner_cpu_s": _r(own.user + own.system, 2),
        "machine_cores": os.cpu_count(),
    }
    t = dict(run.timings)
    if ls is not None:
        t["load_s"] = _r(load_s)
    if run.settle_log is not None:
        t["settle_s"] = run.settle_log.get("duration_s")
    rep["timings"] = t
    rep["nodes_detail"] = [
        {"node": n.name, "address": n.http, "kind": n.kind,
         "incarnations": n.incarnations, "rss_max_mb": _r(n.rss_max_kb / 1024, 1),
         "cpu_s": _r(n.cpu_s, 2), "crashes": [[_r(c[0] - (ls or 0)), c[1]] for c in n.crashes],
         "log": n.err_path}
        for n in run.nodes]
    rep["checks"] = _checks(run, rep, v)
    rep["verdict"] = "pass" if verdict(rep) else "fail"
    return rep


def _checks(run, rep, v):
    c = {}
    check = analysis.check
    net = run.m.network
    c["run_completed"] = check(not run.aborted and bool(v),
                               run.aborted or ("verified" if v else "not verified"))
    le = rep.get("link_emulation") or {}
    if net.latency_ms > 0:
        ping = le.get("ping") or {}
        floor = 2 * (net.latency_ms - net.jitter_ms)
        lo = ping.get("rtt_min_ms")
        snap = run.emu_snapshot or {}
        kq = snap.get("kernel_queue") or {}
        problems = []
        if lo is None:
            problems.append("no ping answer between nodes")
        elif lo < 0.95 * floor:
            problems.append("ping RTT %.1f ms is below 2 x (latency - jitter) = %.1f ms"
                            % (lo, floor))
        if snap and not snap.get("helper_alive", True):
            problems.append("the delay helper exited")
        if kq.get("queue_dropped") or kq.get("user_dropped"):
            problems.append("the kernel dropped %s queued packets (queue full or "
                            "reader too slow)" % (kq.get("queue_dropped", 0)
                                                  + kq.get("user_dropped", 0)))
        c["link_emulation"] = check(
            not problems, "; ".join(problems) or
            "delay by %s; ping RTT min/avg %.1f/%.1f ms for %.0f ms one way"
            % (le.get("delay_method"), lo, ping.get("rtt_avg_ms") or 0, net.latency_ms))
    crashed = [n.name for n in run.nodes if n.crashes]
    c["no_unexpected_exits"] = check(
        not crashed, "nodes exited on their own: %s" % crashed if crashed
        else "no node exited unless told to")
    errs = [e for e in run.plog if e.get("error")]
    unapplied = [e for e in run.plog if e.get("applied_s") is None]
    c["perturbations_applied"] = check(
        not errs and not unapplied,
        "; ".join("#%d %s: %s" % (e["number"], e["kind"], e["error"]) for e in errs)
        or ("%d not applied" % len(unapplied) if unapplied else
            "%d applied on schedule" % len(run.plog)))
    if run.m.load.tx_per_s > 0:
        n = rep["acknowledged_tx"]
        c["load_acknowledged"] = check(n > 0, "%d transactions acknowledged" % n)
    s = run.settle_log or {}
    c["settled"] = check(s.get("agreed", False),
                         "settled in %ss" % s.get("duration_s") if s.get("agreed")
                         else "the network did not settle (%s)" % (
                             "timed out after %ss" % s.get("duration_s")
                             if s else "not reached"))
    if not v:
        return c
    c["converged"] = check(rep["converged"],
                           "every node holds the same chain" if rep["converged"] else
                           "%d distinct tips; unreachable: %s; differing: %s"
                           % (v["distinct_tips"], v.get("unreachable"),
                              v.get("differing_nodes", [])[:10]))
    c["chain_valid"] = check(v.get("valid"), v.get("problem") or
                             "hashes re-derived as Python computes them")
    c["same_chain"] = check(v.get("same_chain"),
                            "identical on all %d nodes" % len(run.nodes)
                            if v.get("same_chain") else
                            "differs on %s" % (v.get("differing_nodes", [])[:10]))
    lost = (v.get("lost_tx") or 0) + (v.get("settle_lost_tx") or 0)
    dup = (v.get("duplicated_tx") or 0) + (v.get("settle_duplicated_tx") or 0)
    unsettled = v.get("unsettled_tx") or 0
    c["no_lost_tx"] = check(lost == 0, "%d acknowledged transactions missing%s%s"
                            % (lost, ", e.g. %s" % v.get("lost_examples")[:3]
                               if lost else "",
                               "; %d more still pending on nodes the settle did "
                               "not reach" % unsettled if unsettled else ""))
    c["no_duplicated_tx"] = check(dup == 0, "%d acknowledged transactions more "
                                  "than once" % dup)
    return c


def verdict(rep):
    return bool(rep and rep.get("checks")) and all(
        x["pass"] for x in rep["checks"].values())


def text(rep):
    p = rep.get("propagation_ms") or {}
    lines = [
        "",
        "dlt-testnet %s: %d dlt-nodes + %d reference nodes, %s links, %s"
        % (rep["run_id"], rep["nodes"], rep["reference_nodes"], rep["link"],
           rep["topology"]["kind"]),
        "  transactions: %d acknowledged (%s/s), %s lost, %s duplicated"
        % (rep["acknowledged_tx"], rep["throughput_tx_s"], rep["lost_tx"],
           rep["duplicated_tx"]),
        "  chain: %s blocks, %s orphaned; %s distinct tips at the end"
        % (rep["blocks"], rep["orphaned_blocks"], rep["distinct_tips"]),
        "  propagation (%s): p50 %s ms, p90 %s, p99 %s, max %s (%s samples)"
        % (p.get("method"), p.get("p50"), p.get("p90"), p.get("p99"), p.get("max"),
           p.get("samples")),
        "  convergence: %s s after %s" % (rep.get("convergence_s"),
                                          (rep.get("convergence_from") or {}).get("event")),
        "  memory: %s MB largest node, %s MB all nodes; node CPU %s cores during load"
        % (rep["rss_mb"]["max"], rep["rss_mb"]["sum"],
           rep["cpu"]["nodes_cores_during_load"]),
    ]
    t = rep.get("timings", {})
    lines.append("  timings: namespaces %ss, nodes up %ss, set-up %ss, settle %ss"
                 % (t.get("namespaces_s"), t.get("nodes_start_s"), t.get("setup_s"),
                    t.get("settle_s")))
    for e in rep.get("perturbations", []):
        lines.append("  perturbation #%d %s at %ss: recovered %s s%s"
                     % (e["number"], e["kind"], e["at_s"], e.get("recovered_s"),
                        " (error: %s)" % e["error"] if e.get("error") else ""))
    for name, c in rep["checks"].items():
        lines.append("  [%s] %s: %s" % ("ok" if c["pass"] else "FAIL", name, c["reason"]))
    lines.append("verdict: %s" % ("PASS" if verdict(rep) else "FAIL"))
    return "\n".join(lines)
