#!/usr/bin/env python3
"""An independent implementation of the reference DLT node's protocol
(API.md), written by us with the standard library only, so that tests can
run mixed networks without Flask. It behaves as the reference does: hashes
with json.dumps(sort_keys=True), pulls every peer's GET /chain one after the
other without a deadline, validates recursively (so, like the reference, it
cannot validate chains much past 970 blocks), adopts the longest valid chain
strictly longer than its own.

Usage: ref_node.py [--port N] [--preload N]   (prints 'listening on ...')
"""
import argparse
import hashlib
import json
import socket
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GENESIS_DATA = ("The Times 03/Jan/2009 "
                "Chancellor on brink of second bailout for banks")


def hash_of(block):
    return hashlib.sha256(json.dumps(block, sort_keys=True).encode()).hexdigest()


def is_valid(chain):
    # Recursive, as the reference: Python's recursion limit makes chains of
    # roughly a thousand blocks fail, which is the reference's behaviour.
    if len(chain) <= 1:
        return True
    if chain[-1]["previous_hash"] != hash_of(chain[-2]):
        return False
    return is_valid(chain[:-1])


def is_valid_safe(chain):
    try:
        return is_valid(chain)
    except RecursionError:
        return False


class Ledger:
    def __init__(self):
        self.lock = threading.Lock()
        self.chain = []
        self.pending = []
        self.peers = []
        self.pending.append({"data": GENESIS_DATA})
        self._new_block("0")

    def _new_block(self, previous_hash=None):
        if not self.pending:
            return None
        block = {
            "index": len(self.chain) + 1,
            "timestamp": time.time(),
            "transactions": self.pending,
            "previous_hash": previous_hash or hash_of(self.chain[-1]),
        }
        self.pending = []
        self.chain.append(block)
        return block

    def mine(self):
        with self.lock:
            return self._new_block() if is_valid_safe(self.chain) else None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    ledger = None

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in two writes; without this, Nagle and
        # delayed ACKs add ~40 ms to every keep-alive request.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send(self, status, obj):
        raw = json.dumps(obj, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        if self.path.split("?")[0] != "/chain":
            return self._send(404, {"error": "Not found"})
        led = self.ledger
        with led.lock:
            chain = list(led.chain)
        self._send(200, {"chain": chain, "is_valid": is_valid_safe(chain)})

    def do_POST(self):
        led = self.ledger
        body = self._body()
        path = self.path
        if path == "/transactions/new":
            if not isinstance(body, dict) or "data" not in body:
                return self._send(400, {"error": "Missing values"})
            tx = {"data": body["data"]}
            with led.lock:
                led.pending.append(tx)
            return self._send(201, {"transaction": tx})
        if path == "/mine":
            block = led.mine()
            with led.lock:
                valid = is_valid_safe(led.chain)
            return self._send(201 if valid else 200,
                              {"new_block": block, "is_valid": valid})
        if path == "/nodes/register":
            nodes = body.get("nodes") if isinstance(body, dict) else None
            if not nodes:
                return self._send(400, {"error": "Missing list of nodes"})
            invalid = []
            with led.lock:
                for node in nodes:
                    parsed = urllib.parse.urlsplit(node if "//" in node
                                                   else "//" + node)
                    if not parsed.netloc:
                        invalid.append(node)
                    elif parsed.netloc not in led.peers:
                        led.peers.append(parsed.netloc)
                result = {"total_nodes": list(led.peers)}
            if invalid:
                result["invalid_nodes"] = invalid
            return self._send(201, result)
        if path == "/nodes/consensus":
            with led.lock:
                peers = list(led.peers)
            collected = []
            for peer in peers:  # one after the other, as the reference
                try:
                    with urllib.request.urlopen("http://%s/chain" % peer,
                                                timeout=30) as res:
                        collected.append(json.loads(res.read())["chain"])
                except Exception as e:  # noqa: BLE001 - skip bad peers
                    print("peer %s: %s" % (peer, e), file=sys.stderr)
            with led.lock:
                best, replaced = len(led.chain), False
                for chain in collected:
                    if len(chain) > best and is_valid_safe(chain):
                        best, led.chain, replaced = len(chain), chain, True
                chain = list(led.chain)
            status = "Chain replaced" if replaced else "Chain not replaced - master"
            return self._send(200, {"status": status, "chain": chain})
        if path == "/action/evil":
            with led.lock:
                if len(led.chain) > 1:
                    result = {"status": "Snap done!", "element": led.chain.pop()}
                else:
                    result = {"status": "Nothing to do...", "element": None}
            return self._send(200, result)
        return self._send(404, {"error": "Not found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=8081)
    ap.add_argument("--preload", type=int, default=0,
                    help="mine this many extra blocks at start")
    args = ap.parse_args()
    ledger = Ledger()
    for i in range(args.preload):
        ledger.pending.append({"data": "preloaded %d" % i})
        ledger.mine()
    Handler.ledger = ledger
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("listening on http://127.0.0.1:%d" % server.server_address[1],
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
