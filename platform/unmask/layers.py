"""In-memory channel layer that worker threads may send to.

The embedded runner reports progress from a worker thread with its own event loop, while
consumers wait on the server's loop. channels' InMemoryChannelLayer puts into an
asyncio.Queue from whichever loop sends, which does not wake the waiting loop. This one
remembers the loop each channel is received on and hands a send from another loop to it.
"""

import asyncio
from typing import Any

from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._receiving_loops: dict[str, asyncio.AbstractEventLoop] = {}

    async def receive(self, channel: str) -> dict[str, Any]:
        self._receiving_loops[channel] = asyncio.get_running_loop()
        try:
            return await super().receive(channel)
        finally:
            if channel not in self.channels:  # nothing left queued: forget it, as the base does
                self._receiving_loops.pop(channel, None)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        owner = self._receiving_loops.get(channel)
        if owner is None or owner is asyncio.get_running_loop() or owner.is_closed():
            await super().send(channel, message)
            return
        # Run the plain send on the receiver's loop; a full channel drops the event there,
        # which is harmless: events only notify, watchers read the row on connect.
        asyncio.run_coroutine_threadsafe(super().send(channel, message), owner)
