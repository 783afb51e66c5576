"""Reads Prometheus' text exposition format (0.0.4) into samples, for tests
that compare a node's /metrics with what its API reports."""
import re

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse(text):
    """Returns (samples, types): samples maps (name, frozenset of (label,
    value)) to a float; types maps a family name to its # TYPE."""
    samples, types = {}, {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(None, 3)
            types[name] = kind
            continue
        if line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError("not a sample line: %r" % line)
        labels = []
        if m.group(3):
            pos, body = 0, m.group(3)
            while pos < len(body):
                lm = _LABEL.match(body, pos)
                if not lm:
                    raise ValueError("bad labels in %r" % line)
                labels.append((lm.group(1), _unescape(lm.group(2))))
                pos = lm.end()
        key = (m.group(1), frozenset(labels))
        if key in samples:
            raise ValueError("duplicate sample %r" % line)
        samples[key] = float(m.group(4))
    return samples, types


class Metrics:
    """One scrape: value(name, **labels) of a sample, total(name, **labels)
    summed over the series matching the labels given."""

    def __init__(self, text):
        self.text = text
        self.samples, self.types = parse(text)

    def value(self, name, **labels):
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            raise KeyError("no sample %s%r" % (name, labels))
        return self.samples[key]

    def get(self, name, default=0.0, **labels):
        return self.samples.get((name, frozenset(labels.items())), default)

    def series(self, name):
        """{labels dict as a sorted tuple: value} of every series of `name`."""
        return {tuple(sorted(k[1])): v for k, v in self.samples.items()
                if k[0] == name}

    def total(self, name, **labels):
        want = set(labels.items())
        return sum(v for (n, ls), v in self.samples.items()
                   if n == name and want <= set(ls))
