"""Starts the reference node (tests/e2e/ref_node.py) listening on a given
address instead of 127.0.0.1, which is all it binds to: inside a node's
namespace it must answer on that node's own address.

Usage: ref_launcher.py PATH/TO/ref_node.py --host ADDR [ref_node options]
"""
import importlib.util
import sys


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--host":
        sys.exit("usage: ref_launcher.py REF_NODE_PY --host ADDR [options]")
    path, host = sys.argv[1], sys.argv[3]
    spec = importlib.util.spec_from_file_location("ref_node", path)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    base = ref.ThreadingHTTPServer

    class Bound(base):
        def __init__(self, address, handler, *args, **kwargs):
            super().__init__((host, address[1]), handler, *args, **kwargs)

    ref.ThreadingHTTPServer = Bound
    sys.argv = [path] + sys.argv[4:]
    # ref_node prints "listening on http://127.0.0.1:PORT" whatever it binds;
    # the runner knows the real address.
    ref.main()


if __name__ == "__main__":
    main()
