"""Hundreds of concurrent writers and miners: every acknowledged transaction
is mined exactly once, and the chain stays valid."""
import collections
import threading
import unittest

from harness import Client, Node, assert_links, call, get_chain

WRITERS = 300
PER_WRITER = 8
MINERS = 4


class ConcurrentClients(unittest.TestCase):
    def test_concurrent_writers_and_miners(self):
        with Node() as node:
            acked, errors = [], []
            lock = threading.Lock()
            stop_mining = threading.Event()
            start = threading.Barrier(WRITERS + MINERS)

            def writer(w):
                c = Client(node.url)
                try:
                    start.wait()
                    for i in range(PER_WRITER):
                        data = {"writer": w, "seq": i, "text": "tx \u00e9 %d/%d" % (w, i)}
                        status, body, _ = c.request("POST", "/transactions/new", {"data": data})
                        with lock:
                            if status == 201 and body == {"transaction": {"data": data}}:
                                acked.append(data)
                            else:
                                errors.append((status, body))
                except Exception as e:  # noqa: BLE001 - report, do not hang
                    with lock:
                        errors.append(repr(e))
                finally:
                    c.close()

            mined_blocks = []

            def miner():
                c = Client(node.url)
                try:
                    start.wait()
                    for _ in range(400):  # bounded
                        if stop_mining.is_set():
                            break
                        status, body, _ = c.request("POST", "/mine", {})
                        with lock:
                            if status != 201:
                                errors.append((status, body))
                            elif body["new_block"] is not None:
                                mined_blocks.append(body["new_block"])
                finally:
                    c.close()

            threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
            miners = [threading.Thread(target=miner) for _ in range(MINERS)]
            for t in threads + miners:
                t.start()
            for t in threads:
                t.join(timeout=120)
            stop_mining.set()
            for t in miners:
                t.join(timeout=120)
            self.assertFalse(any(t.is_alive() for t in threads + miners))
            self.assertEqual(errors, [])
            self.assertEqual(len(acked), WRITERS * PER_WRITER)

            status, body = call(node.url, "POST", "/mine", {})
            self.assertEqual(status, 201)
            if body["new_block"]:
                mined_blocks.append(body["new_block"])

            chain = get_chain(node.url)
            assert_links(self, chain)
            # Every block /mine returned is in the chain, unchanged.
            self.assertEqual(sorted(b["index"] for b in mined_blocks),
                             list(range(2, len(chain) + 1)))
            for b in mined_blocks:
                self.assertEqual(chain[b["index"] - 1], b)
            counts = collections.Counter(
                (tx["data"]["writer"], tx["data"]["seq"])
                for block in chain[1:] for tx in block["transactions"])
            self.assertEqual(set(counts.values()), {1})  # none twice
            self.assertEqual(set(counts), {(d["writer"], d["seq"]) for d in acked})


if __name__ == "__main__":
    unittest.main()
