"""Many concurrent clients: every acknowledged event is archived exactly once."""

from __future__ import annotations

import asyncio
import collections

import aiohttp
import orjson

CLIENTS = 40
REQUESTS_PER_CLIENT = 25


async def send_all(url: str) -> list[str]:
    acknowledged: list[str] = []

    async def client(number: int) -> None:
        async with aiohttp.ClientSession() as session:
            for index in range(REQUESTS_PER_CLIENT):
                message_id = f"c{number}-r{index}"
                if index % 5 == 0:
                    body = [
                        {"type": "track", "messageId": f"{message_id}-a"},
                        {"type": "track", "messageId": f"{message_id}-b"},
                    ]
                    ids = [f"{message_id}-a", f"{message_id}-b"]
                else:
                    body = {"type": "track", "messageId": message_id}
                    ids = [message_id]
                async with session.post(url, data=orjson.dumps(body)) as response:
                    await response.read()
                    if response.status == 200:
                        acknowledged.extend(ids)

    await asyncio.gather(*(client(number) for number in range(CLIENTS)))
    return acknowledged


def test_concurrent_clients_archived_once(start_listener) -> None:
    listener = start_listener(archive_segment_max_bytes=4096)
    acknowledged = asyncio.run(send_all(listener.url + "/"))
    listener.service.stop(10)
    archived = collections.Counter(message["messageId"] for message in listener.archived())
    assert len(acknowledged) == CLIENTS * REQUESTS_PER_CLIENT * 6 // 5
    assert set(acknowledged) == set(archived)
    assert max(archived.values()) == 1
    assert len(list(listener.archive_dir.glob("segment-*.ndjson"))) > 1
