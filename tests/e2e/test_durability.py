"""The ledger survives restarts and SIGKILLs: real dlt-node processes on one
data directory, killed at random moments under concurrent writers and a
miner; nothing acknowledged may be lost, and a damaged ledger is refused
with a clear message, never served."""
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest

from fake_peers import FakePeer, make_chain
from harness import (NODE_BINARY, Client, Node, Process, assert_links, block_hash,
                     call, get_chain)


def start(data_dir, *args):
    return Node("--data-dir", data_dir, *args)


def sigkill(node):
    """Kills the node at once (no clean shutdown) and cleans up after it."""
    node.kill()
    Process.__exit__(node, None, None, None)


def txs_in(chain):
    """Every transaction's data in the chain, genesis excluded, in order."""
    return [tx["data"] for block in chain[1:] for tx in block["transactions"]]


def mine_all(url):
    status, body = call(url, "POST", "/mine")
    assert status == 201, (status, body)
    return body["new_block"]


def read_response(reader):
    """(status, body) of one HTTP/1.1 response with a Content-Length."""
    line = reader.readline()
    if not line:
        raise EOFError
    status = int(line.split()[1])
    length = 0
    while True:
        header = reader.readline()
        if not header:
            raise EOFError
        if header in (b"\r\n", b"\n"):
            break
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = reader.read(length)
    if len(body) < length:
        raise EOFError
    return status, body


class Load:
    """Writers posting unique transactions and one miner, until stopped.
    Records exactly what the node acknowledged."""

    def __init__(self, url, tag, pid, kill_at, writers=8):
        """Kills `pid` with SIGKILL at monotonic time `kill_at`, from the
        writer that just got a 201 then: the sharpest moment, when that
        transaction must already be on disk."""
        self.url, self.tag = url, tag
        self.pid, self.kill_at, self.killed = pid, kill_at, False
        self.acked = []          # data of every transaction answered 201
        self.mined = []          # every block /mine returned
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(w,))
                        for w in range(writers)]
        self.threads.append(threading.Thread(target=self._mine))
        for t in self.threads:
            t.start()

    def _write(self, w):
        # Pipelined bursts on a raw connection: many transactions in flight,
        # so that every kill finds transactions on their way to disk.
        host, port = self.url.replace("http://", "").split(":")
        try:
            sock = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            return
        reader = sock.makefile("rb")
        try:
            for burst in range(100_000):  # bounded; ends when the node dies
                if self.stop.is_set():
                    break
                batch = ["%s-w%d-%d" % (self.tag, w, burst * 16 + k) for k in range(16)]
                requests = []
                for data in batch:
                    body = json.dumps({"data": data}).encode()
                    requests.append(b"POST /transactions/new HTTP/1.1\r\nHost: node\r\n"
                                    b"Content-Type: application/json\r\n"
                                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                sock.sendall(b"".join(requests))
                for data in batch:
                    status, body = read_response(reader)
                    if status == 201:
                        assert json.loads(body) == {"transaction": {"data": data}}, body
                        with self.lock:
                            self.acked.append(data)
                            if not self.killed and time.monotonic() >= self.kill_at:
                                os.kill(self.pid, signal.SIGKILL)
                                self.killed = True
        except (OSError, EOFError):
            pass  # killed: whatever was not answered was never acknowledged
        finally:
            reader.close()
            sock.close()

    def _mine(self):
        client = Client(self.url, timeout=10)
        try:
            self._mine_until_stopped(client)
        finally:
            client.close()

    def _mine_until_stopped(self, client):
        for _ in range(1_000_000):
            if self.stop.is_set():
                break
            try:
                status, body, _ = client.request("POST", "/mine")
            except OSError:
                break
            if status == 201 and body["new_block"] is not None:
                with self.lock:
                    self.mined.append(body["new_block"])
            time.sleep(0.02)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=60)
            assert not t.is_alive()


class Restart(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dlt-durability-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_restart_keeps_chain_pending_transactions_and_peers(self):
        for stop in (signal.SIGTERM, signal.SIGKILL):
            with self.subTest(stop=stop.name):
                shutil.rmtree(self.dir, ignore_errors=True)
                node = start(self.dir)
                try:
                    url = node.url
                    call(url, "POST", "/nodes/register",
                         {"nodes": ["127.0.0.1:1", "http://localhost:2"]})
                    for d in ["a", {"k": [1, 2.5, None]}, "\u2603 \U0001f600"]:
                        call(url, "POST", "/transactions/new", {"data": d})
                    mine_all(url)
                    call(url, "POST", "/transactions/new", {"data": "evil-me"})
                    mine_all(url)
                    self.assertEqual(call(url, "POST", "/action/evil")[0], 200)
                    for d in ["p1", "p2", "p1"]:  # pending, duplicates too
                        call(url, "POST", "/transactions/new", {"data": d})
                    before = get_chain(url)
                finally:
                    if stop == signal.SIGTERM:
                        node.__exit__(None, None, None)  # asserts exit status 0
                    else:
                        sigkill(node)
                with start(self.dir) as again:
                    self.assertEqual(get_chain(again.url), before)
                    status, body = call(again.url, "POST", "/nodes/register",
                                        {"nodes": ["127.0.0.1:3"]})
                    self.assertEqual(body["total_nodes"],
                                     ["127.0.0.1:1", "localhost:2", "127.0.0.1:3"])
                    block = mine_all(again.url)
                    self.assertEqual([t["data"] for t in block["transactions"]],
                                     ["p1", "p2", "p1"])
                    self.assertEqual(block["index"], len(before) + 1)
                    assert_links(self, get_chain(again.url))

    def test_sigkill_under_load_loses_nothing_acknowledged(self):
        rng = random.Random(int(os.environ.get("DLT_TEST_SEED", time.time())))
        acked, mined = [], []
        rounds = int(os.environ.get("DLT_KILL_ROUNDS", 8))
        for r in range(rounds):
            node = start(self.dir)
            try:
                # Everything acknowledged before this start is still there.
                chain = get_chain(node.url)
                assert_links(self, chain)
                for b in mined:
                    self.assertEqual(chain[b["index"] - 1], b,
                                     "a block /mine returned changed or vanished")
                kill_at = time.monotonic() + rng.uniform(0.2, 1.5)
                load = Load(node.url, "r%d" % r, node.proc.pid, kill_at)
                node.proc.wait(timeout=60)  # killed by the load
                load.join()
                acked += load.acked
                mined += load.mined
            finally:
                sigkill(node)
        self.assertGreater(len(acked), 100)
        self.assertGreater(len(mined), 5)
        with start(self.dir) as node:
            mine_all(node.url)  # what is still pending goes into a block
            chain = get_chain(node.url)
            assert_links(self, chain)
            for b in mined:
                self.assertEqual(chain[b["index"] - 1], b)
            in_chain = txs_in(chain)
            missing = set(acked) - set(in_chain)
            self.assertFalse(missing, "acknowledged transactions lost: %d, e.g. %s"
                             % (len(missing), sorted(missing)[:5]))
            self.assertEqual(len(in_chain), len(set(in_chain)),
                             "a transaction was mined twice")

    def test_killed_during_adoption_keeps_the_old_chain_or_the_new_one(self):
        long_chain = make_chain(20000, tag="long")
        peer = FakePeer({"chain": long_chain, "length": len(long_chain)})
        rng = random.Random(7)
        try:
            for attempt in range(4):
                shutil.rmtree(self.dir, ignore_errors=True)
                node = start(self.dir)
                try:
                    for i in range(5):
                        call(node.url, "POST", "/transactions/new", {"data": i})
                        mine_all(node.url)
                    old = get_chain(node.url)
                    call(node.url, "POST", "/nodes/register", {"nodes": [peer.address]})
                    threading.Thread(target=lambda u=node.url: _quietly(
                        call, u, "POST", "/nodes/consensus"), daemon=True).start()
                    time.sleep(rng.uniform(0.05, 1.5) if attempt else 3.0)
                finally:
                    sigkill(node)
                with start(self.dir) as again:
                    chain = get_chain(again.url)
                    self.assertIn(len(chain), (len(old), len(long_chain)))
                    self.assertEqual(chain, old if len(chain) == len(old) else long_chain)
        finally:
            peer.close()

    def test_evil_and_consensus_are_stored(self):
        with tempfile.TemporaryDirectory() as other_dir:
            a = start(self.dir)
            try:
                with start(other_dir) as b:
                    for i in range(3):
                        call(b.url, "POST", "/transactions/new", {"data": i})
                        mine_all(b.url)
                    call(a.url, "POST", "/nodes/register", {"nodes": [b.address]})
                    status, body = call(a.url, "POST", "/nodes/consensus")
                    self.assertEqual(body["status"], "Chain replaced")
                    self.assertEqual(call(a.url, "POST", "/action/evil")[0], 200)
                    after = get_chain(a.url)
                    self.assertEqual(after, get_chain(b.url)[:-1])
            finally:
                sigkill(a)  # right after the answers: they must be on disk
            with start(self.dir) as a:
                self.assertEqual(get_chain(a.url), after)


class WriteFailure(unittest.TestCase):
    """When the ledger cannot be written (here: a file-size limit, as a full
    disk would), nothing unstored is acknowledged and the node stops with
    status 3; what was acknowledged loads again."""

    def test_a_failing_disk_stops_the_node_without_false_acknowledgements(self):
        import resource
        data_dir = tempfile.mkdtemp(prefix="dlt-full-")
        # Files of at most 2 MiB: the write-ahead log (64 KiB pages, copied
        # back at ~4 MB) outgrows that after some 30 single-transaction
        # commits; the database itself never would here.
        limit = 2 * 1024 * 1024

        def small_files():
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        try:
            proc = subprocess.Popen([NODE_BINARY, "--port", "0", "--data-dir", data_dir],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True, preexec_fn=small_files)
            line = proc.stdout.readline()
            self.assertIn("listening on http://", line, proc.stderr.read() if not line else "")
            url = line.strip().rsplit(" ", 1)[1]
            acked, refused = [], 0
            client = Client(url, timeout=30)
            try:
                for i in range(5000):  # ~100 bytes each: far beyond the limit
                    data = "tx %d %s" % (i, "x" * 80)
                    status, _, _ = client.request("POST", "/transactions/new", {"data": data})
                    if status == 201:
                        acked.append(data)
                    else:
                        self.assertEqual(status, 503)
                        refused += 1
                        break
            except OSError:
                pass  # the node stopped
            finally:
                client.close()
            self.assertEqual(proc.wait(timeout=30), 3)
            self.assertIn("cannot be stored", proc.stderr.read())
            proc.stdout.close()
            proc.stderr.close()
            self.assertGreater(len(acked), 10)
            with start(data_dir) as node:  # no limit now
                block = mine_all(node.url)
                self.assertEqual([t["data"] for t in block["transactions"]][:len(acked)],
                                 acked)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)


def _quietly(f, *args):
    try:
        f(*args)
    except OSError:
        pass


class Refusals(unittest.TestCase):
    """A ledger that cannot be trusted stops the node before it serves."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="dlt-damaged-")
        self.db = os.path.join(self.dir, "ledger.sqlite")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def make_ledger(self, blocks=6):
        with start(self.dir) as node:
            for i in range(blocks - 1):
                call(node.url, "POST", "/transactions/new", {"data": "tx %d" % i})
                mine_all(node.url)
            call(node.url, "POST", "/transactions/new", {"data": "pending"})

    def refused(self, *needles):
        r = subprocess.run([NODE_BINARY, "--port", "0", "--data-dir", self.dir],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)  # an exit, not a crash
        self.assertNotIn("listening", r.stdout)
        for n in needles:
            self.assertIn(n, r.stderr)
        self.assertIn("move the directory aside", r.stderr)
        return r.stderr

    def edit(self, sql, *params):
        db = sqlite3.connect(self.db)
        db.execute(sql, params)
        db.commit()
        db.close()

    def test_not_a_database(self):
        with open(self.db, "wb") as f:
            f.write(os.urandom(8192))
        self.refused("refusing to start", "not a dlt-node ledger")

    def test_someone_elses_database(self):
        self.edit("CREATE TABLE t(x)")
        self.refused("not a dlt-node ledger")

    def test_changed_block_bytes(self):
        self.make_ledger()
        db = sqlite3.connect(self.db)
        (js,) = db.execute("SELECT json FROM block_runs WHERE first = 3").fetchone()
        db.close()
        self.edit("UPDATE block_runs SET json = ? WHERE first = 3",
                  js.replace('"tx 1"', '"tx X"'))
        self.refused("block 3", "stored hash is not the hash of its bytes")

    def test_changed_block_with_its_hash(self):
        self.make_ledger()
        db = sqlite3.connect(self.db)
        (js,) = db.execute("SELECT json FROM block_runs WHERE first = 3").fetchone()
        db.close()
        forged = js.replace('"tx 1"', '"tx X"')
        self.edit("UPDATE block_runs SET json = ?, hashes = ? WHERE first = 3",
                  forged, bytes.fromhex(block_hash(json.loads(forged))))
        self.refused("block 4", "previous_hash is not the hash of block 3")

    def test_missing_block(self):
        self.make_ledger()
        self.edit("DELETE FROM block_runs WHERE first = 4")
        self.refused("block 4 is missing")

    def test_non_canonical_block_and_bad_rows(self):
        for sql, params, needle in [
            ("UPDATE block_runs SET json = replace(json, ', ', ',') WHERE first = 2", (),
             "not in canonical form"),
            ("UPDATE block_runs SET json = '{\"index\": 2}' WHERE first = 2", (),
             "block 2: block has no"),
            ("UPDATE pending SET json = '{\"data\": 1, \"x\": 2}'", (),
             "pending transaction"),
            ("INSERT INTO peers(address) VALUES ('ftp://nope')", (), "peer"),
            ("PRAGMA user_version = 99", (), "ledger format 99"),
        ]:
            with self.subTest(needle=needle):
                shutil.rmtree(self.dir, ignore_errors=True)
                os.makedirs(self.dir)
                self.make_ledger()
                self.edit(sql, *params)
                self.refused(needle)

    def test_damaged_pages(self):
        self.make_ledger(blocks=300)
        size = os.path.getsize(self.db)
        with open(self.db, "r+b") as f:  # scribble over pages after the header
            for off in range(4096, size, 4096 * 3):
                f.seek(off + 100)
                f.write(os.urandom(200))
        err = self.refused("refusing to start")
        self.assertRegex(err, "damaged|malformed|not a dlt-node ledger")

    def test_truncated_file(self):
        self.make_ledger(blocks=300)
        with open(self.db, "r+b") as f:
            f.truncate(os.path.getsize(self.db) // 2)
        self.refused("refusing to start")

    def test_second_node_on_the_same_directory(self):
        with start(self.dir):
            r = subprocess.run([NODE_BINARY, "--port", "0", "--data-dir", self.dir],
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 1)
            self.assertIn("another dlt-node is using the data directory", r.stderr)

    def test_a_good_ledger_still_starts(self):
        self.make_ledger()
        with start(self.dir) as node:
            self.assertEqual(len(get_chain(node.url)), 6)


if __name__ == "__main__":
    unittest.main()
