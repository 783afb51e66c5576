"""Mutual TLS on native links (--caf-tls-cert, --caf-tls-key, --caf-tls-ca),
with certificates made by packaging/tls/make-certs.sh: nodes with
certificates from one CA link, sync and push-gossip; a node of another CA,
a client without a certificate, one with an expired certificate and a
plain-TCP BASP client are refused; a node does not start with TLS files it
cannot use, nor publish unauthenticated on a non-loopback address."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import basp_client as basp
from basp_client import Closed, Connection
from harness import NODE_BINARY, HERE, Node, call, get_chain

SCRIPT = os.path.join(HERE, "..", "..", "packaging", "tls", "make-certs.sh")


def make(*args):
    subprocess.run(["sh", SCRIPT, *args], check=True, stdout=subprocess.DEVNULL)


def make_expired(ca_dir, name):
    """A certificate from the CA in `ca_dir` that expired in 2020 (openssl
    x509 cannot date one in the past; openssl ca can)."""
    db = os.path.join(ca_dir, "db-" + name)
    os.makedirs(db)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "serial"), "w") as f:
        f.write("1000\n")
    cnf = os.path.join(db, "ca.cnf")
    with open(cnf, "w") as f:
        f.write("[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\n"
                "serial = %s/serial\nnew_certs_dir = %s\ndefault_md = sha256\n"
                "policy = p\nunique_subject = no\n[p]\ncommonName = supplied\n"
                % (db, db, db))
    ext = os.path.join(db, "ext")
    with open(ext, "w") as f:
        f.write("extendedKeyUsage=serverAuth,clientAuth\n")
    key, csr, pem = (os.path.join(ca_dir, name + s) for s in (".key", ".csr", ".pem"))
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=" + name], **quiet)
    subprocess.run(["openssl", "ca", "-config", cnf, "-batch",
                    "-cert", os.path.join(ca_dir, "ca.pem"),
                    "-keyfile", os.path.join(ca_dir, "ca.key"), "-in", csr, "-out", pem,
                    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                    "-extfile", ext], **quiet)


class Pki:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dlt-tls-")
        self.ca1 = os.path.join(self.dir, "ca1")
        self.ca2 = os.path.join(self.dir, "ca2")
        make("ca", self.ca1)
        make("ca", self.ca2)
        for name in ("node1", "node2", "client"):
            make("node", self.ca1, name)
        make("node", self.ca2, "stranger")
        make_expired(self.ca1, "expired")

    def args(self, ca_dir, name, ca=None):
        return ("--caf-tls-cert", os.path.join(ca_dir, name + ".pem"),
                "--caf-tls-key", os.path.join(ca_dir, name + ".key"),
                "--caf-tls-ca", os.path.join(ca or ca_dir, "ca.pem"))

    def client_context(self, ca_dir=None, name=None):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False  # the CA is the list of members
        ctx.load_verify_locations(os.path.join(self.ca1, "ca.pem"))
        if name:
            ctx.load_cert_chain(os.path.join(ca_dir, name + ".pem"),
                                os.path.join(ca_dir, name + ".key"))
        return ctx

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)


PKI = None


def setUpModule():
    global PKI
    PKI = Pki()


def tearDownModule():
    PKI.close()


def tls_node(ca_dir, name, *args):
    return Node("--caf-port", "0", "--ephemeral", *PKI.args(ca_dir, name), *args)


def caf_port(node):
    return int(node.caf_address.rsplit(":", 1)[1])


def mine(url, data):
    call(url, "POST", "/transactions/new", {"data": data})
    status, body = call(url, "POST", "/mine")
    assert status == 201, (status, body)
    return body["new_block"]


def register(url, *addresses):
    status, body = call(url, "POST", "/nodes/register", {"nodes": list(addresses)})
    assert status == 201, (status, body)


def consensus(url):
    status, body = call(url, "POST", "/nodes/consensus")
    assert status == 200, (status, body)
    return body


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def basp_over_tls(node, ctx):
    """A raw BASP client on a TLS connection; its head, or the exception
    that stopped it."""
    raw = socket.create_connection(("127.0.0.1", caf_port(node)), timeout=10)
    sock = None
    try:
        sock = ctx.wrap_socket(raw)
        c = Connection(0, sock=sock)
        c.handshake()
        return c.head()[1]
    except (ssl.SSLError, OSError, Closed, AssertionError, IndexError) as e:
        return e
    finally:
        (sock or raw).close()


class Tls(unittest.TestCase):
    def test_nodes_of_one_ca_link_sync_and_gossip(self):
        with tls_node(PKI.ca1, "node1", "--gossip", "push") as a, \
                tls_node(PKI.ca1, "node2", "--gossip", "push") as b:
            for i in range(3):
                mine(a.url, "a%d" % i)
            register(b.url, a.caf_address)
            # Replaced by this round, or already by the sync a's push
            # started as the link came up.
            consensus(b.url)
            self.assertTrue(wait_for(lambda: get_chain(a.url) == get_chain(b.url)),
                            b.log_text())
            self.assertIn("linked to " + a.caf_address, b.log_text())
            register(a.url, b.caf_address)
            block = mine(a.url, "pushed over TLS")
            self.assertTrue(wait_for(lambda: get_chain(b.url)[-1] == block))
            block = mine(b.url, "pushed back")
            self.assertTrue(wait_for(lambda: get_chain(a.url)[-1] == block))
            # Our own BASP client with a certificate of the CA is served.
            self.assertEqual(basp_over_tls(a, PKI.client_context(PKI.ca1, "client")),
                             len(get_chain(a.url)))

    def test_a_node_of_another_ca_is_refused_both_ways(self):
        with tls_node(PKI.ca1, "node1") as a, tls_node(PKI.ca2, "stranger") as c:
            mine(a.url, "a")
            mine(c.url, "c")
            mine(c.url, "c again")
            chains = get_chain(a.url), get_chain(c.url)
            register(c.url, a.caf_address)
            self.assertEqual(consensus(c.url)["status"], "Chain not replaced - master")
            register(a.url, c.caf_address)
            self.assertEqual(consensus(a.url)["status"], "Chain not replaced - master")
            self.assertEqual((get_chain(a.url), get_chain(c.url)), chains)
            self.assertIn("cannot link", c.log_text())
            self.assertIn("cannot link", a.log_text())
            self.assertIn("unknown ca", a.log_text())
            self.assertIn("certificate verify failed", c.log_text())

    def test_no_certificate_an_expired_one_or_plain_tcp_is_refused(self):
        with tls_node(PKI.ca1, "node1") as a:
            height = len(get_chain(a.url))
            cases = {
                "no certificate": PKI.client_context(),
                "expired": PKI.client_context(PKI.ca1, "expired"),
                "another CA": PKI.client_context(PKI.ca2, "stranger"),
            }
            for name, ctx in cases.items():
                with self.subTest(name):
                    self.assertIsInstance(basp_over_tls(a, ctx), Exception)
            # Plain TCP: a BASP handshake gets nothing back but a close.
            c = Connection(caf_port(a))
            try:
                c.send(basp.header(basp.CLIENT_HS, length=32) + basp.new_node())
                self.assertTrue(c.closed_within(10))
            except Closed:
                pass
            finally:
                c.close()
            log = a.log_text()
            self.assertIn("certificate", log)  # required / expired
            self.assertIn("wrong version number", log)  # plain bytes
            self.assertEqual(len(get_chain(a.url)), height)
            # Positive control: the same client with a valid certificate.
            self.assertEqual(basp_over_tls(a, PKI.client_context(PKI.ca1, "client")),
                             height)

    def test_plain_and_tls_nodes_do_not_link(self):
        with tls_node(PKI.ca1, "node1") as a, \
                Node("--caf-port", "0", "--ephemeral") as p:
            mine(p.url, "plain")
            register(a.url, p.caf_address)
            self.assertEqual(consensus(a.url)["status"], "Chain not replaced - master")
            mine(a.url, "tls")
            mine(a.url, "tls again")
            register(p.url, a.caf_address)
            self.assertEqual(consensus(p.url)["status"], "Chain not replaced - master")


def run_node(*args):
    return subprocess.run([NODE_BINARY, "--port", "0", "--ephemeral", *args],
                          capture_output=True, text=True, timeout=30)


class Refusals(unittest.TestCase):
    def test_unusable_tls_files_stop_the_node_at_start(self):
        ca1, ca2 = PKI.ca1, PKI.ca2
        cases = [
            ("expired", PKI.args(ca1, "expired"), "expired"),
            ("another CA", PKI.args(ca2, "stranger", ca=ca1), "not accepted by the CA"),
            ("wrong key", ("--caf-tls-cert", os.path.join(ca1, "node1.pem"),
                           "--caf-tls-key", os.path.join(ca1, "node2.key"),
                           "--caf-tls-ca", os.path.join(ca1, "ca.pem")), "key values mismatch"),
            ("missing", ("--caf-tls-cert", os.path.join(ca1, "nope.pem"),
                         "--caf-tls-key", os.path.join(ca1, "node1.key"),
                         "--caf-tls-ca", os.path.join(ca1, "ca.pem")), "cannot read"),
        ]
        for name, args, text in cases:
            with self.subTest(name):
                r = run_node("--caf-port", "0", *args)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(text, r.stderr)

    def test_bad_combinations_are_a_bad_command_line(self):
        r = run_node("--caf-port", "0", "--caf-tls-cert", "x.pem", "--caf-tls-ca", "ca.pem")
        self.assertEqual(r.returncode, 2)
        self.assertIn("go together", r.stderr)
        r = run_node("--caf-port", "0", "--host", "0.0.0.0")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--caf-insecure", r.stderr)
        self.assertIn("without TLS", r.stderr)


if __name__ == "__main__":
    unittest.main()
