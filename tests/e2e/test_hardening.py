"""Issue 10, hardening, with real dlt-node processes: the attacks of the
issue and their variants. Each topic lives in its own module:

  hardening_depth   one depth rule from request to block, ledger and peers
  hardening_peers   hostile peers: memory budget, round deadline, no invalid
                    chain adopted, concurrent requests share a round
  hardening_load    parked consensus requests at the connection limit;
                    heavy bodies next to a bystander client
  hardening_state   bounded mempool, blocks and peer registry; unregister

After every attack the node must stop cleanly (exit 0 on SIGTERM), start
again on its ledger, serve, and hold everything it acknowledged
(ledger_checks.py). Reorg atomicity when the mempool does not answer is a
unit test (tests/unit/test_hardening.cpp). Run one topic with e.g.
`python3 test_hardening.py -v HostilePeers`."""
import unittest

from hardening_depth import DepthRule  # noqa: F401
from hardening_load import HeavyBodiesAndABystander, ParkedConsensusRequests  # noqa: F401
from hardening_peers import HostilePeers  # noqa: F401
from hardening_state import MempoolAndBlocks, PeerRegistry  # noqa: F401

if __name__ == "__main__":
    unittest.main()
