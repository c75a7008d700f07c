"""Changing what was sent: edits, deletion, and the answers to button presses."""

from __future__ import annotations

import copy
import time

from bot.sandbox.telegram.records import (
    NOT_MODIFIED,
    TEXT_LIMIT,
    TEXT_TOO_LONG,
    ApiError,
    JSONDict,
    SentMessage,
    as_int,
)
from bot.sandbox.telegram.sending import Sending


class Editing(Sending):
    def _target(self, params: JSONDict, missing: str) -> SentMessage:
        key = (self._chat_id(params), as_int(params.get("message_id"), 0))
        msg = self._messages.get(key)
        if msg is None or msg.deleted:
            raise ApiError(400, f"Bad Request: {missing}")
        return msg

    def _apply_edit(self, msg: SentMessage, text: str | None, markup: JSONDict | None) -> JSONDict:
        if text == msg.text and markup == msg.reply_markup:
            raise ApiError(400, NOT_MODIFIED)
        msg.history.append((msg.text, msg.reply_markup))
        if text != msg.text:  # only text and caption edits get here with new text
            field_name = "text" if msg.kind == "text" else "caption"
            if text is None:
                msg.raw.pop(field_name, None)
            else:
                msg.raw[field_name] = text
        msg.text, msg.reply_markup = text, markup
        if markup is None:
            msg.raw.pop("reply_markup", None)
        else:
            msg.raw["reply_markup"] = markup
        msg.raw["edit_date"] = int(time.time())
        return copy.deepcopy(msg.raw)

    def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._target(params, "message to edit not found")
        if msg.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = self._render(params.get("text"), params.get("parse_mode"), TEXT_LIMIT, TEXT_TOO_LONG)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        # Like Telegram: an edit without reply_markup drops the inline keyboard.
        return self._apply_edit(msg, text, self._markup(params))

    def _edit_message_caption(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._target(params, "message to edit not found")
        if msg.kind not in ("photo", "document", "media_group_photo"):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        return self._apply_edit(msg, self._caption(params), self._markup(params))

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        if params.get("inline_message_id"):
            return True
        msg = self._target(params, "message to edit not found")
        return self._apply_edit(msg, msg.text, self._markup(params))

    def _delete_message(self, params: JSONDict) -> bool:
        self._target(params, "message to delete not found").deleted = True
        return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if not query_id or query_id in self.callback_answers:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self.callback_answers[query_id] = dict(params)
        return True
