"""Fake peers for benchmarks: many loopback listeners in one asyncio loop,
each answering GET /chain with fixed bytes after a fixed delay."""
import asyncio
import threading


class PeerFarm:
    def __init__(self, bodies, delay=0.0):
        """bodies: one bytes body per peer."""
        self.bodies, self.delay = bodies, delay
        self.ports = []
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(30)
        self.addresses = ["127.0.0.1:%d" % p for p in self.ports]

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        self.servers = []
        for body in self.bodies:
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body))

            async def handle(reader, writer, head=head, body=body):
                try:
                    while (await reader.readline()) not in (b"\r\n", b""):
                        pass
                    await asyncio.sleep(self.delay)
                    writer.write(head)
                    # In 1 MiB slices: one write of a 185 MB body made
                    # asyncio copy all of it into its buffer first, and the
                    # peer served it at ~1.2 ms/MB instead of ~0.3 (curl),
                    # taking a core from the node it fed.
                    view = memoryview(body)
                    for at in range(0, len(view), 1 << 20):
                        writer.write(view[at:at + (1 << 20)])
                        await writer.drain()
                except (ConnectionError, asyncio.CancelledError):
                    pass
                finally:
                    writer.close()

            server = self.loop.run_until_complete(
                asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024))
            self.servers.append(server)
            self.ports.append(server.sockets[0].getsockname()[1])
        ready.set()
        self.loop.run_forever()

    def close(self):
        async def stop():
            for s in self.servers:
                s.close()
        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        if not self.thread.is_alive():
            self.loop.close()  # here, not in a finalizer at exit
