"""The fake Telegram Bot API the demo and the tests drive: one object, its
parts in modules of their own (state, feed, chats, sending, editing, inspect)."""

from __future__ import annotations

from bot.sandbox.telegram.editing import Editing
from bot.sandbox.telegram.feed import UpdatesFeed
from bot.sandbox.telegram.inspect import Inspection


class FakeBotApi(UpdatesFeed, Editing, Inspection):
    """The state of a fake Telegram server, independent of how requests
    reach it (transport.py: in memory or over HTTP)."""

    def __init__(
        self, *, bot_id: int = 900000001, bot_username: str = "phananh_bot", latency: float = 0.0
    ) -> None:
        super().__init__(bot_id=bot_id, bot_username=bot_username, latency=latency)
        # Each Bot API method the fake answers, by its lower-case name
        # (getUpdates, a long poll, is answered apart: state.py).
        self._dispatch.update(
            {
                "getme": self._get_me,
                "deletewebhook": self._delete_webhook,
                "setwebhook": self._set_webhook,
                "getwebhookinfo": self._get_webhook_info,
                "setmycommands": self._set_my_commands,
                "getmycommands": self._get_my_commands,
                "deletemycommands": self._delete_my_commands,
                "sendmessage": self._send_message,
                "sendphoto": self._send_photo,
                "senddocument": self._send_document,
                "sendlocation": self._send_location,
                "sendvenue": self._send_venue,
                "sendmediagroup": self._send_media_group,
                "editmessagetext": self._edit_message_text,
                "editmessagecaption": self._edit_message_caption,
                "editmessagereplymarkup": self._edit_message_reply_markup,
                "deletemessage": self._delete_message,
                "answercallbackquery": self._answer_callback_query,
                "getfile": self._get_file,
            }
        )
