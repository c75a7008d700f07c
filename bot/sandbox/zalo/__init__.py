"""A fake Zalo Bot API, so the Zalo channel's real code runs offline, faithful to the wire.

There is no test server for the Zalo Bot Platform, and mocking the client would skip what
breaks in production: one update per poll (not a list), an update gone once handed out, HTTP
408 as the idle answer, string ids, dates in milliseconds, the 2,000-character limit, a photo
sent by URL that Zalo must fetch itself.  So the project owns this fake, built from
``ZALO_NOTES.md``, and drives the real client through it:

* `FakeZaloApi` (api.py) is the server's state and rules, in parts: state.py (one request
  in, faults, the update queue), feed.py (updates to the bot), sending.py (what the bot
  sends), inspect.py (what tests read back), records.py (what it keeps, its wire helpers);
* `FakeZaloTransport` (transport.py) plugs it into httpx without sockets (fast tests): an
  idle poll answers 408 at once, so no test ever waits out a long poll;
* `HttpFakeZaloApi` serves it on 127.0.0.1 (end-to-end tests, the demo): long polls really
  wait, up to their ``timeout``, and are released when the server stops;
* `FakeZaloUser` and `FakeZaloGroup` (users.py) write the updates Zalo would deliver, of
  every kind;
* in webhook mode the fake POSTs updates to the bot, with the secret header, bare or enveloped.

Where the notes leave a detail open (the status of ``getUpdates`` while a webhook is set, the
wording of errors), the fake picks something plausible and says so in a comment; the client
must not depend on those details.  The fake is stricter than Zalo may be where strictness
catches the bot's own mistakes: it takes only JSON bodies by POST, string ids, and messages to
chats that have written to the bot.
"""

from __future__ import annotations

from bot.sandbox.zalo.api import FakeZaloApi
from bot.sandbox.zalo.records import (
    DEFAULT_TOKEN,
    SECRET_HEADER,
    JSONDict,
    MemoryPhotoHost,
    SimulatedNetworkFailure,
    WebhookDelivery,
    ZaloCall,
    ZaloSent,
    fetch_over_http,
    sample_jpeg,
)
from bot.sandbox.zalo.transport import FakeZaloTransport, HttpFakeZaloApi
from bot.sandbox.zalo.users import FakeZaloGroup, FakeZaloUser

__all__ = [
    "DEFAULT_TOKEN",
    "SECRET_HEADER",
    "FakeZaloApi",
    "FakeZaloGroup",
    "FakeZaloTransport",
    "FakeZaloUser",
    "HttpFakeZaloApi",
    "JSONDict",
    "MemoryPhotoHost",
    "SimulatedNetworkFailure",
    "WebhookDelivery",
    "ZaloCall",
    "ZaloSent",
    "fetch_over_http",
    "sample_jpeg",
]
