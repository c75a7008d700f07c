"""What the bot says on its own initiative, channel-neutral: the messages
one outbox row becomes (`bot/app/notify.py` composes them), which each
channel renders and sends its own way.

Each message has a ``key``, the same on every attempt at the row: a channel
records each key (or each piece of it: a text in several messages, photos
in several albums) the moment the platform accepts it, so a retry sends
only what is missing.  Words are final (in the reader's language, from the
catalogue); limits are the channel's: it splits a text, shortens a caption.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.domain.complaints import Action


@dataclass(frozen=True)
class TaskChoice:
    """An action a person may take on a complaint from this message: a
    button on Telegram, a numbered choice on a text-only channel."""

    label: str
    action: Action
    complaint_id: int


@dataclass(frozen=True)
class CommandChoice:
    """A command a person may run from this message ("new report", a
    language, "yes, erase my data"): a button on Telegram, a numbered
    choice on a text-only channel.  ``command`` is the command's name as
    bot/app/desk.py knows it, ``args`` what it is given."""

    label: str
    command: str
    args: tuple[str, ...] = ()


Choice = TaskChoice | CommandChoice

# Choices in rows: a channel with buttons shows each row as one; a
# text-only channel numbers them all in order.
Choices = tuple[tuple[Choice, ...], ...]


@dataclass(frozen=True)
class TextOut:
    """A text, with the choices under it.  ``about``: the complaint whose
    choices these are — a channel that can edit its messages remembers
    where they are, to redraw them when the complaint moves on."""

    key: str
    body: str
    choices: Choices = ()
    about: int | None = None
    # The question the person was answering is over: a channel that showed
    # a keyboard of its own for it (Telegram's location button) takes it away.
    closes_prompt: bool = False


@dataclass(frozen=True)
class PhotosOut:
    """Photos, each with the caption (which names the complaint: photos on a
    phone must be matched to their task).  ``media``: their ids in the
    project's media store (bot/app/media.py)."""

    key: str
    media: tuple[int, ...]
    caption: str


@dataclass(frozen=True)
class LocationOut:
    """A place on the map, titled with the complaint's code."""

    key: str
    lat: float
    lon: float
    title: str
    address: str


@dataclass(frozen=True)
class FileOut:
    """A file the bot made (the digest's chart).  ``content`` makes its
    bytes when called — only when the file is about to be sent, since
    drawing it is costly and a retry may find it already sent."""

    key: str
    filename: str
    mime: str
    caption: str
    content: Callable[[], Awaitable[bytes]]


@dataclass(frozen=True)
class RefreshOut:
    """The choices the person has on a complaint now: a channel that can
    edit its earlier messages redraws them (or takes them away when there
    are none); a channel that cannot ignores this."""

    key: str
    complaint_id: int
    choices: Choices


Outgoing = TextOut | PhotosOut | LocationOut | FileOut | RefreshOut
