"""Certificates for a testnet with mutual TLS on native links (tls = true):
one CA per run and a certificate per node, made with Debian's openssl the
way packaging/tls/make-certs.sh makes them (EC P-256, serverAuth and
clientAuth), in the run's work directory, which teardown removes."""
import os
import subprocess

_EXT = ("basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth,clientAuth\n")


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("openssl %s failed: %s" % (args[0], r.stderr.strip()[-400:]))


def make(directory, count, say=lambda s: None):
    """Makes directory/ca.pem and, per node i < count, (cert, key) files;
    returns [(cert, key, ca)] by node index."""
    os.makedirs(directory, mode=0o700, exist_ok=True)
    ca_key = os.path.join(directory, "ca.key")
    ca = os.path.join(directory, "ca.pem")
    _openssl("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:P-256", "-nodes", "-keyout", ca_key, "-out", ca,
             "-days", "30", "-subj", "/CN=dlt-testnet CA")
    ext = os.path.join(directory, "node.ext")
    with open(ext, "w") as f:
        f.write(_EXT)
    out = []
    for i in range(count):
        key = os.path.join(directory, "n%d.key" % i)
        csr = os.path.join(directory, "n%d.csr" % i)
        cert = os.path.join(directory, "n%d.pem" % i)
        _openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out",
                 csr, "-subj", "/CN=n%d" % i)
        _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
                 "-set_serial", str(i + 1), "-out", cert, "-days", "30",
                 "-extfile", ext)
        os.unlink(csr)
        out.append((cert, key, ca))
    say("made a CA and %d node certificates for mutual TLS" % count)
    return out
