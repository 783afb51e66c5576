"""The runner's HTTP helpers: a Ctrl-C must reach the run even when it
lands just as a request finishes (CI once ran on for minutes after one)."""
import asyncio
import unittest

from dlt_testnet import httpc


class CancellationTest(unittest.TestCase):
    def test_cancel_arriving_as_the_call_finishes_is_kept(self):
        async def trial():
            loop = asyncio.get_running_loop()
            kept = 0
            for _ in range(200):
                stop = []

                async def busy():
                    # Each call finishes on the loop's next turn, so the
                    # cancel below lands while one is finishing.
                    while not stop:
                        fut = loop.create_future()
                        loop.call_soon(lambda f=fut: f.done() or f.set_result(1))
                        await httpc.within(fut, 5)
                t = asyncio.ensure_future(busy())
                for _ in range(3):
                    await asyncio.sleep(0)
                t.cancel()
                for _ in range(5):
                    await asyncio.sleep(0)
                kept += t.done() and t.cancelled()
                stop.append(True)
                await asyncio.gather(t, return_exceptions=True)
            return kept
        self.assertEqual(asyncio.run(trial()), 200)

    def test_timeout_still_fires(self):
        async def never():
            await asyncio.sleep(10)
        with self.assertRaises(asyncio.TimeoutError):
            asyncio.run(httpc.within(never(), 0.05))


if __name__ == "__main__":
    unittest.main()
