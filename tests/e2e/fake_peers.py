"""In-process fake peers for consensus tests: each serves GET /chain in one
particular (mis)behaviour, on its own loopback port."""
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import block_hash

GENESIS = "The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"


def make_chain(n, t0=1560174309.2023711, tag="peer"):
    """A valid chain of n blocks, hashed by Python's json.dumps."""
    chain = [{"index": 1, "previous_hash": "0", "timestamp": t0,
              "transactions": [{"data": GENESIS}]}]
    for i in range(2, n + 1):
        chain.append({"index": i, "previous_hash": block_hash(chain[-1]),
                      "timestamp": t0 + i * 0.25,
                      "transactions": [{"data": "%s block %d" % (tag, i)}]})
    return chain


class FakePeer:
    """Serves a fixed body after a delay; or misbehaves by `mode`."""

    def __init__(self, body=None, delay=0.0, status=200, mode="answer"):
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.delay, self.status, self.mode = delay, status, mode
        self.stopped = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if peer.mode == "drip":  # headers, then a byte now and then
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(peer.body)))
                    self.end_headers()
                    try:
                        for b in peer.body:
                            if peer.stopped.wait(0.2):
                                return
                            self.wfile.write(bytes([b]))
                            self.wfile.flush()
                    except OSError:
                        pass  # the node gave up on us: that is the point
                    return
                if peer.stopped.wait(peer.delay):
                    return
                self.send_response(peer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(peer.body)))
                self.end_headers()
                self.wfile.write(peer.body)

        if mode == "hang":  # accepts connections, never answers
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(64)
            self.port = self.sock.getsockname()[1]
            self.held = []
            threading.Thread(target=self._hold, daemon=True).start()
        elif mode == "dead":  # nothing listens on this port
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
            s.close()
        else:
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            self.server.daemon_threads = True
            self.port = self.server.server_address[1]
            threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = "127.0.0.1:%d" % self.port

    def _hold(self):
        self.sock.settimeout(0.2)
        while not self.stopped.is_set():
            try:
                conn, _ = self.sock.accept()
                self.held.append(conn)
            except OSError:
                pass

    def close(self):
        self.stopped.set()
        if self.mode == "hang":
            for c in self.held:
                c.close()
            self.sock.close()
        elif self.mode != "dead":
            self.server.shutdown()
            self.server.server_close()
