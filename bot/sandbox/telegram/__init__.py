"""A fake Telegram Bot API, so the real PTB `Application` runs offline.

No maintained harness exists for python-telegram-bot 22, and mocking `Bot` methods would skip
exactly what breaks in production: CommandHandler's username check, result parsing, callback
data, HTML parse errors, flood control.  So the tests and the offline demo talk to this fake
instead, through PTB's own request layer:

* `FakeBotApi` is the server state; `call(method, params)` answers like Telegram, errors included;
* `InMemoryRequest` plugs it into PTB without sockets (fast: unit tests, benchmarks);
* `HttpFakeBotApi` serves it on 127.0.0.1 so PTB's httpx transport and `Updater` long-polling
  run unmodified (the demo, polling tests);
* `FakeUser` / `FakeGroup` write the update payloads Telegram would deliver.
"""

from __future__ import annotations

from bot.sandbox.telegram.api import FakeBotApi
from bot.sandbox.telegram.records import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    PLACEHOLDER_JPEG,
    STRING_FIELDS,
    TEXT_LIMIT,
    ApiCall,
    JSONDict,
    MessageKind,
    SentMessage,
    SimulatedNetworkFailure,
    UploadedFile,
    placeholder_jpeg,
)
from bot.sandbox.telegram.transport import HttpFakeBotApi, InMemoryRequest
from bot.sandbox.telegram.users import FakeGroup, FakeUser

__all__ = [
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "PLACEHOLDER_JPEG",
    "STRING_FIELDS",
    "TEXT_LIMIT",
    "ApiCall",
    "FakeBotApi",
    "FakeGroup",
    "FakeUser",
    "HttpFakeBotApi",
    "InMemoryRequest",
    "JSONDict",
    "MessageKind",
    "SentMessage",
    "SimulatedNetworkFailure",
    "UploadedFile",
    "placeholder_jpeg",
]
