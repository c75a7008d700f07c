"""Webhook mode: Zalo posts each update to ``PHANANH_PUBLIC_URL`` + ``/zalo``
with the header ``X-Bot-Api-Secret-Token``, on the bot's own HTTP server
(bot/http.py).

Each request goes through, in this order: the secret, compared in constant
time before a byte of the body is read (403, one log line, no body); the
declared length (411, 413: refused unread); the body, within a time limit
(408) and a size cap (413); UTF-8 JSON that is an object (400); then the
update — bare or inside ``{"ok": true, "result": …}`` — is stored and
committed, and only then is Zalo answered 200 (receiving.py).  An update
the bot cannot read (a field it needs is missing) is logged by the field's
name and answered 200: sending it again would not help.
"""

from __future__ import annotations

import hmac
import logging

from starlette.requests import Request
from starlette.responses import Response

from bot.http import BODY_TIMEOUT, MAX_BODY, length_refusal, read_body
from handlers.zalo.receiving import ZaloReceiver

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Bot-Api-Secret-Token"
# A Zalo Official Account signs its webhook events with this header instead
# ("user_send_text", "follow"…, another shape, answered through another API):
# a ward's OA webhook pointed at this route by mistake is named as such.
OA_SIGNATURE_HEADER = "X-ZEvent-Signature"
OA_EVENT = (
    "an Official Account event (signed with X-ZEvent-Signature); this route takes"
    " Zalo Bot Platform updates only: point the OA's webhook elsewhere"
)
# An answer given before the body was read: the connection closes with it.
CLOSE = {"Connection": "close"}


class ZaloWebhook:
    def __init__(self, receiver: ZaloReceiver, secret: str) -> None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        self.receiver = receiver
        self._secret = secret.encode()

    async def endpoint(self, request: Request) -> Response:
        token = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(token.encode("utf-8", "replace"), self._secret):
            reason = "missing or wrong secret"
            if not token and OA_SIGNATURE_HEADER in request.headers:
                reason = OA_EVENT
            return Response(status_code=_refused(403, reason), headers=CLOSE)
        length = length_refusal(request.headers, MAX_BODY)
        if length is not None:
            return Response(status_code=_refused(*length), headers=CLOSE)
        body = await read_body(request, MAX_BODY, BODY_TIMEOUT)
        if isinstance(body, tuple):
            return Response(status_code=_refused(*body), headers=CLOSE)
        return Response(status_code=await self.receiver.receive(body))


def _refused(status: int, reason: str) -> int:
    log.warning("Zalo webhook request refused (%d): %s", status, reason)
    return status
