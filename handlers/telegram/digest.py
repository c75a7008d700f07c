"""Leaders' reports in Telegram: ``/digest``, ``/stats``, ``/export``, and
the delivery of Monday's digest from the outbox.

Only leaders, only for their own wards (`bot.domain.authz.report_scope`);
anyone else gets a polite refusal in their language.  The numbers come from
`bot.digests.Digests`; the text, chart and files from ``bot/report``.
"""

from __future__ import annotations

import asyncio
import re

from telegram import InputFile, Update
from telegram.ext import CommandHandler

from bot.app.digests import Digests
from bot.app.notify import digest_messages
from bot.domain import digest as d
from bot.domain.text import fold
from bot.report.text import period_label, stats_text
from handlers.telegram.common import PRIVATE, say
from handlers.telegram.context import BotApplication, BotContext
from handlers.telegram.sender import TelegramSender

_WEEK = re.compile(r"^\d{4}-?[wW]\d{1,2}$")
_KINDS = {
    "week": d.PeriodKind.WEEK,
    "tuan": d.PeriodKind.WEEK,
    "tuan nay": d.PeriodKind.WEEK,
    "this week": d.PeriodKind.WEEK,
    "month": d.PeriodKind.MONTH,
    "thang": d.PeriodKind.MONTH,
    "thang nay": d.PeriodKind.MONTH,
    "this month": d.PeriodKind.MONTH,
    "year": d.PeriodKind.YEAR,
    "nam": d.PeriodKind.YEAR,
    "nam nay": d.PeriodKind.YEAR,
    "this year": d.PeriodKind.YEAR,
}
# The last complete week, as /digest reports it (typed with or without
# diacritics: "tuần trước", "tuan truoc").
_LAST_WEEK = frozenset({"last week", "tuan truoc", "tuan roi", "lastweek"})


async def send_digest(context: BotContext, chat_id: int, digest: d.Digest) -> None:
    """The text (in as many messages as it needs), then the chart: the same
    messages as Monday's digest from the outbox."""
    actor = context.require_actor()
    messages = digest_messages(context.digests, actor.language, digest)
    for part in TelegramSender(context.bot, context.services).parts(chat_id, actor, messages):
        await part.send()


def _split(args: list[str], digests: Digests) -> tuple[str | None, str | None, list[str]]:
    """(ward code, ISO week, the rest) from a command's words; ward codes
    match in any case."""
    wards = {w.lower(): w for w in digests.wards()}
    ward = week = None
    rest = []
    for arg in args:
        if _WEEK.match(arg):
            week = arg
        elif arg.lower() in wards:
            ward = wards[arg.lower()]
        else:
            rest.append(arg)
    return ward, week, rest


async def _scope(context: BotContext, chat_id: int, ward: str | None) -> d.Scope | None:
    """The scope the person may see, or None after telling them why not."""
    actor = context.require_actor()
    digests = context.digests
    if digests.scope_for(actor) is None:
        await say(context, chat_id, "digest.only_leaders")
        return None
    scope = digests.scope_for(actor, ward)
    if scope is None:
        await say(context, chat_id, "digest.not_your_ward")
    return scope


async def cmd_digest(update: Update, context: BotContext) -> None:
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    digests = context.digests
    ward, week_text, rest = _split(context.args or [], digests)
    scope = await _scope(context, chat_id, ward)
    if scope is None:
        return
    if rest and (week_text is not None or _words(rest) not in _LAST_WEEK):
        await say(context, chat_id, "digest.digest_usage")
        return
    try:
        week = digests.parse_week(week_text) if week_text else digests.last_week()
    except ValueError:
        await say(context, chat_id, "digest.bad_week")
        return
    await send_digest(context, chat_id, await digests.build(scope, week))


def _words(rest: list[str]) -> str:
    return fold(" ".join(rest))


def _period(digests: Digests, week_text: str | None, rest: list[str]) -> d.Period | None:
    """The period the words name: an ISO week, last week, or this week,
    month or year to date; None when they name none.  A malformed ISO week
    raises ValueError."""
    if week_text is not None:
        return None if rest else digests.parse_week(week_text)
    words = _words(rest)
    if words in _LAST_WEEK:
        return digests.last_week()
    kind = _KINDS.get(words)
    return digests.to_date(kind) if kind is not None else None


async def _scope_and_period(
    update: Update, context: BotContext, usage: str
) -> tuple[int, d.Scope, d.Period] | None:
    """The chat, the leader's scope and the period asked for (``week``,
    ``month``, ``year``, ``last week`` or an ISO week like ``2026-W47``,
    with or without a ward code); None once the person was told why not."""
    assert update.effective_chat is not None
    chat_id = update.effective_chat.id
    digests = context.digests
    ward, week_text, rest = _split(context.args or [], digests)
    scope = await _scope(context, chat_id, ward)
    if scope is None:
        return None
    try:
        period = _period(digests, week_text, rest)
    except ValueError:
        await say(context, chat_id, "digest.bad_week")
        return None
    if period is None:
        await say(context, chat_id, usage)
        return None
    return chat_id, scope, period


async def cmd_stats(update: Update, context: BotContext) -> None:
    asked = await _scope_and_period(update, context, "digest.stats_usage")
    if asked is None:
        return
    chat_id, scope, period = asked
    digests = context.digests
    counts, timing = await digests.stats(scope, period)
    actor = context.require_actor()
    body = stats_text(scope, period, counts, timing, digests.chart, actor.language, digests.tz)
    await context.bot.send_message(chat_id, body)


async def cmd_export(update: Update, context: BotContext) -> None:
    from bot.report.export import rows, to_csv, to_xlsx  # openpyxl loads only when used

    asked = await _scope_and_period(update, context, "digest.export_usage")
    if asked is None:
        return
    chat_id, scope, period = asked
    digests = context.digests
    lang = context.require_actor().language
    table = rows(await digests.export(scope, period), digests.chart, lang, digests.tz)
    name = f"phan-anh-{'tat-ca-phuong-xa' if scope.whole_city else '-'.join(scope.wards)}"
    name = f"{name}-{period.key}".lower()
    caption = context.renderer.t(
        lang, "digest.export_caption", period=period_label(period, lang), count=len(table)
    )
    await context.bot.send_document(
        chat_id, InputFile(to_csv(table, lang), filename=f"{name}.csv"), caption=caption
    )
    xlsx = await asyncio.to_thread(to_xlsx, table, lang)
    await context.bot.send_document(chat_id, InputFile(xlsx, filename=f"{name}.xlsx"))


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("digest", cmd_digest, filters=PRIVATE))
    app.add_handler(CommandHandler("stats", cmd_stats, filters=PRIVATE))
    app.add_handler(CommandHandler("export", cmd_export, filters=PRIVATE))
