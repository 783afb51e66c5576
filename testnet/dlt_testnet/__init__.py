"""dlt-testnet: hundreds of real dlt-nodes on one machine, each its own
host, with emulated latency and loss, perturbations, and a verdict."""
