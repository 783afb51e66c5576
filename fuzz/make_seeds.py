#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora from the test fixtures' cases.

usage: make_seeds.py OUT_DIR
Creates OUT_DIR/chain, OUT_DIR/differential and OUT_DIR/http, one file per
seed (the fixtures' Python-checked inputs, wrapped as each target reads
them). Deterministic: the fixture generators are seeded.
"""
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'fixtures'))
import gen_canonical_cases as canonical_cases  # noqa: E402
import gen_chain_cases as chain_cases  # noqa: E402


def cases(module):
    lines = []

    class Sink:
        def write(self, s):
            lines.append(s)

    saved = sys.argv, sys.stdout
    sys.argv, sys.stdout = ['gen'], Sink()
    try:
        module.main()
    finally:
        sys.argv, sys.stdout = saved
    return [json.loads(line) for line in ''.join(lines).splitlines()]


def write(directory, seed):
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha1(seed).hexdigest()
    with open(os.path.join(directory, name), 'wb') as f:
        f.write(seed)


def one_block_answer(data):
    # Any data makes a valid chain of one block (its previous_hash is "0").
    return (b'{"chain": [{"index": 1, "previous_hash": "0", "timestamp": 1560174309.2023711, '
            b'"transactions": [{"data": ' + data + b'}]}], "length": 1}')


def request(path, body, chunked=False):
    head = b'POST ' + path + b' HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Type: application/json\r\n'
    if chunked:
        half = len(body) // 2
        parts = [body[:half], body[half:]]
        payload = b''.join(b'%x\r\n%s\r\n' % (len(p), p) for p in parts if p) + b'0\r\n\r\n'
        return head + b'Transfer-Encoding: chunked\r\n\r\n' + payload
    return head + b'Content-Length: %d\r\n\r\n' % len(body) + body


def main():
    out = sys.argv[1]
    inputs = [bytes.fromhex(c[1]) for c in cases(canonical_cases)]
    # Every hand case (listed first) and a sample of the random ones.
    picked = inputs[:400] + inputs[400::12]
    bodies = [bytes.fromhex(c[1]) for c in cases(chain_cases)]
    for i, body in enumerate(bodies):
        write(os.path.join(out, 'chain'), bytes([i % 256]) + body)
        write(os.path.join(out, 'differential'), body)
        # The same blocks as a native answer's string: joined by ", ".
        try:
            blocks = json.loads(body)["chain"]
        except (ValueError, TypeError, KeyError, RecursionError):
            continue
        if isinstance(blocks, list) and blocks:
            listed = ", ".join(json.dumps(b, sort_keys=True) for b in blocks)
            write(os.path.join(out, 'chain'), bytes([(i * 7) % 256]) + listed.encode())
    for i, text in enumerate(picked):
        if len(text) < 20000:
            write(os.path.join(out, 'chain'), bytes([(i * 37) % 256]) + one_block_answer(text))
        write(os.path.join(out, 'differential'), text)
        data = b'{"data": ' + text + b'}'
        write(os.path.join(out, 'http'), bytes([i % 64]) + request(b'/transactions/new', data, i % 5 == 0))
        if i % 4 == 0:
            write(os.path.join(out, 'http'), bytes([i % 64]) + request(b'/mine', text))
    for body in [b'', b'{"nodes": ["127.0.0.1:5001", "http://localhost:8082/"]}',
                 b'{"nodes": [1, null]}', b'{"nodes": "a"}', b'{"nodes": []}']:
        write(os.path.join(out, 'http'), b'\x07' + request(b'/nodes/register', body))


if __name__ == '__main__':
    main()
