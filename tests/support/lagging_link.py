"""A Redis node's network, with a replication stream that runs behind.

Killing a redis-server on the same host as its replica loses nothing in flight: the kernel still
delivers what the process had written to the replica's socket. A primary whose *host* dies (or
whose network does) takes with it whatever its replicas had not received yet. To measure what
asynchronous replication can lose on one machine, each node is reached through this relay (its
"address"): commands and answers pass at once, but what a node sends down a replication link (a
connection on which the other side asked ``PSYNC``) is held ``lag_s`` first, as for a replica in
another zone or one busy with a fork. ``kill()`` of the relay process is the host's failure: what
it holds is gone, and the address refuses connections until the node is started again.

The relay is its own process (``python -m tests.support.lagging_link``), so forwarding does not
compete with the test's clients for the interpreter.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
from dataclasses import dataclass, field

from tests.support.processes import REPO_ROOT, free_port, stop_process, wait_until

READ_SIZE = 65536


@dataclass
class LaggingLink:
    """The relay process in front of one node: ``port`` (its address) -> ``node_port``."""

    node_port: int
    lag_s: float
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> LaggingLink:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.lagging_link",
                str(self.port),
                str(self.node_port),
                str(self.lag_s),
            ],
            cwd=REPO_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._listening, timeout=10)
        return self

    def kill(self) -> None:
        """The host fails: what the relay holds is lost, its connections drop."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError("the lagging link exited")
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
            return True


async def _relay(listen_port: int, node_port: int, lag_s: float) -> None:
    async def serve(client_in: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
        try:
            node_in, node = await asyncio.open_connection("127.0.0.1", node_port)
        except OSError:
            client.close()
            return
        replicating = asyncio.Event()  # the client asked for the replication stream
        pumps = [
            asyncio.ensure_future(_to_node(client_in, node, replicating)),
            asyncio.ensure_future(_to_client(node_in, client, replicating, lag_s)),
        ]
        await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for pump in pumps:
            pump.cancel()
        for writer in (client, node):
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", listen_port)
    async with server:
        await server.serve_forever()


async def _to_node(
    source: asyncio.StreamReader, sink: asyncio.StreamWriter, replicating: asyncio.Event
) -> None:
    while data := await source.read(READ_SIZE):
        if b"\r\nPSYNC\r\n" in data:  # how a replica asks for the stream (RESP)
            replicating.set()
        sink.write(data)
        await sink.drain()


async def _to_client(
    source: asyncio.StreamReader,
    sink: asyncio.StreamWriter,
    replicating: asyncio.Event,
    lag_s: float,
) -> None:
    loop = asyncio.get_running_loop()
    held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def forward() -> None:
        while True:
            due, data = await held.get()
            await asyncio.sleep(max(0.0, due - loop.time()))
            if not data:
                return
            sink.write(data)
            await sink.drain()

    forwarding = asyncio.ensure_future(forward())
    try:
        while data := await source.read(READ_SIZE):
            if replicating.is_set():
                held.put_nowait((loop.time() + lag_s, data))
            else:  # in order behind anything still held
                held.put_nowait((0.0, data))
        held.put_nowait((loop.time() + lag_s, b""))
        await forwarding
    finally:
        forwarding.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description="a Redis node's lagging replication link")
    parser.add_argument("listen_port", type=int)
    parser.add_argument("node_port", type=int)
    parser.add_argument("lag_s", type=float)
    args = parser.parse_args()
    asyncio.run(_relay(args.listen_port, args.node_port, args.lag_s))


if __name__ == "__main__":
    main()
