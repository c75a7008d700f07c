"""How updates reach the bot: queued for getUpdates, or POSTed to the
webhook Zalo was given (bare or enveloped, with the secret header)."""

from __future__ import annotations

import copy
import json
from urllib.parse import urlsplit

import httpx

from bot.sandbox.zalo.records import (
    LOOPBACK_HOSTS,
    SECRET_HEADER,
    SECRET_LENGTH,
    ApiError,
    JSONDict,
    WebhookBody,
    WebhookDelivery,
)
from bot.sandbox.zalo.state import ZaloApiState


class UpdatesFeed(ZaloApiState):
    """Delivering updates, and the webhook's own methods."""

    def push_update(self, update: JSONDict) -> JSONDict:
        """Queue an update for getUpdates and wake a parked long poll."""
        self._updates.append(copy.deepcopy(update))
        self._wake_pollers()
        return update

    async def deliver(self, update: JSONDict) -> int | None:
        """Deliver as Zalo would: POST it to the webhook if one is set, else queue it for
        getUpdates.  Returns the webhook's HTTP status, or None when queued."""
        if self.webhook_url:
            return (await self.deliver_webhook(update)).status
        self.push_update(update)
        await self._notify()
        return None

    async def deliver_webhook(
        self,
        update: JSONDict,
        *,
        body: WebhookBody | None = None,
        secret: str | None = None,
        omit_secret: bool = False,
    ) -> WebhookDelivery:
        """POST `update` to the webhook, as Zalo does, and record how the bot answered.

        `body` picks bare or enveloped (default: the fake's `webhook_body`); `secret` sends a
        different secret and `omit_secret` none at all, to test the bot's refusal.
        """
        if not self.webhook_url:
            raise RuntimeError("no webhook is set: the bot must call setWebhook first")
        enveloped = (body or self.webhook_body) == "enveloped"
        payload = {"ok": True, "result": update} if enveloped else update
        sent_secret = None if omit_secret else (secret or self.webhook_secret)
        headers = {"Content-Type": "application/json"}
        if sent_secret is not None:
            headers[SECRET_HEADER] = sent_secret
        content = json.dumps(payload, ensure_ascii=False).encode()
        try:
            status = await self._post_webhook(content, headers)
        except httpx.HTTPError:
            status = 0
        delivery = WebhookDelivery(self.webhook_url, update, enveloped, sent_secret, status)
        self.webhook_deliveries.append(delivery)
        await self._notify()
        return delivery

    async def _post_webhook(self, content: bytes, headers: dict[str, str]) -> int:
        if self.webhook_client is not None:
            response = await self.webhook_client.post(
                self.webhook_url, content=content, headers=headers
            )
            return response.status_code
        async with httpx.AsyncClient(timeout=10.0) as client:
            response = await client.post(self.webhook_url, content=content, headers=headers)
            return response.status_code

    @property
    def pending_updates(self) -> list[JSONDict]:
        """Updates queued and not yet handed out."""
        return copy.deepcopy(self._updates)

    def _set_webhook(self, params: JSONDict) -> JSONDict:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not self._webhook_url_allowed(url):
            raise ApiError(400, "Bad Request: url must be an HTTPS URL")
        if not isinstance(secret, str) or len(secret) not in SECRET_LENGTH:
            raise ApiError(400, "Bad Request: secret_token must be 8 to 256 characters")
        self.webhook_url, self.webhook_secret = url, secret
        self.webhook_updated_at = self.now_ms()
        return {"url": url, "updated_at": self.webhook_updated_at}

    def _webhook_url_allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if not parts.hostname:
            return False
        if parts.scheme == "https":
            return True
        return (
            self.allow_http_webhook
            and parts.scheme == "http"
            and (parts.hostname in LOOPBACK_HOSTS)
        )

    def _delete_webhook(self, params: JSONDict) -> JSONDict:
        self.webhook_url, self.webhook_secret = "", ""
        self.webhook_updated_at = self.now_ms()
        return {"url": "", "updated_at": self.webhook_updated_at}

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        if not self.webhook_url:
            # Measured by an open client: HTTP 404 {"ok": false, "description": "Not Found"}.
            raise ApiError(404, "Not Found", bare=True)
        return {"url": self.webhook_url, "updated_at": self.webhook_updated_at}
