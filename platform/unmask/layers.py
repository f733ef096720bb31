"""In-memory channel layer that worker threads may send to.

The embedded runner reports progress from a worker thread with its own event loop, while
consumers wait on the server's loop. channels' InMemoryChannelLayer puts into an
asyncio.Queue from whichever loop sends, which does not wake the waiting loop. This one
hands the put to the queue's own loop.
"""

import asyncio
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    async def send(self, channel: str, message: dict[str, Any]) -> None:
        if not isinstance(message, dict):
            raise TypeError("message is not a dict")
        self.require_valid_channel_name(channel)
        queue = self.channels.setdefault(channel, asyncio.Queue(maxsize=self.get_capacity(channel)))
        if queue.full():
            raise ChannelFull(channel)
        item = (time.time() + self.expiry, deepcopy(message))
        owner = getattr(queue, "_loop", None)  # set once a receiver has waited on the queue
        if owner is None or owner is asyncio.get_running_loop() or owner.is_closed():
            queue.put_nowait(item)
        else:
            owner.call_soon_threadsafe(_put_quietly, queue, item)


def _put_quietly(queue: asyncio.Queue, item: Any) -> None:
    if not queue.full():
        queue.put_nowait(item)
