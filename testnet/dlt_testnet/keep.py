"""--keep: while the network stays up, forward 127.0.0.1:BASE+i in the root
namespace to node i's REST API, so a browser on the host reaches each
node's explorer (the root namespace has no address on the testnet; these
are plain TCP relays in the runner, gone when it stops)."""
import asyncio
import os
import socket

from . import netns, topology


def listen_in_root(root_fd, port):
    """A listening socket in the root namespace, made while the runner
    itself lives in the switch namespace."""
    here = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        netns.setns_fd(root_fd)
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(64)
        s.setblocking(False)
        return s
    finally:
        netns.setns_fd(here)
        os.close(here)


async def _pipe(reader, writer):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except OSError:
            pass


def _handler(addr):
    async def handle(client_r, client_w):
        try:
            node_r, node_w = await asyncio.open_connection(addr, topology.HTTP_PORT)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, node_w), _pipe(node_r, client_w))
    return handle


async def start_forwarders(root_fd, nodes, base_port):
    servers, lines = [], []
    for n in nodes:
        port = base_port + n.index
        try:
            sock = listen_in_root(root_fd, port)
        except OSError as e:
            lines.append("  %s: cannot listen on 127.0.0.1:%d (%s)" % (n.name, port, e))
            continue
        servers.append(await asyncio.start_server(_handler(n.addr), sock=sock))
        lines.append("  %s (%s) -> http://127.0.0.1:%d/" % (n.name, n.http, port))
    return servers, lines
