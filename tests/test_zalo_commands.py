"""Commands typed as words on Zalo (handlers/zalo/commands.py): with or
without diacritics and a slash; never a description taken for a command."""

from __future__ import annotations

import pytest

from bot.domain.authz import COMMAND_ROLES
from handlers.zalo.commands import PHRASES, Command, parse_command


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("mới", Command("new")),
        ("Moi", Command("new")),
        ("/new", Command("new")),
        ("new", Command("new")),
        ("gửi phản ánh", Command("new")),
        ("của tôi", Command("mine")),
        ("phan anh cua toi", Command("mine")),
        ("trạng thái PA-000123", Command("status", ("PA-000123",))),
        ("trang thai pa123", Command("status", ("pa123",))),
        ("/status PA-7", Command("status", ("PA-7",))),
        ("PA-000123", Command("status", ("PA-000123",))),
        ("rút PA-12", Command("withdraw", ("PA-12",))),
        ("hủy", Command("cancel")),
        ("huy", Command("cancel")),
        ("xóa dữ liệu của tôi", Command("forget")),
        ("dữ liệu của tôi", Command("mydata")),
        ("việc", Command("tasks")),
        ("lịch sử PA-3", Command("history", ("PA-3",))),
        ("giao lại PA-3", Command("reassign", ("PA-3",))),
        ("gia han pa-3", Command("extend", ("pa-3",))),
        ("báo cáo tuần 2026-W47", Command("digest", ("2026-W47",))),
        ("thống kê tháng", Command("stats", ("tháng",))),
        ("xuất tuần trước", Command("export", ("tuần", "trước"))),
        ("mời tt-hh-12", Command("invite", ("tt-hh-12",))),
        ("  trợ   giúp ", Command("help")),
        ("/new@phananh_bot", Command("new")),
        ("language en", Command("lang", ("en",))),  # the English help's word spelled out
    ],
)
def test_a_command_typed_as_words_is_understood(typed: str, expected: Command) -> None:
    assert parse_command(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "mới sáng nay có xe đổ xà bần ở cuối ngõ",  # a description, not "new"
        "rút tiền không được",  # "withdraw" takes a code
        "xem giúp tôi với",  # "status" takes a code
        "việc này ai làm",  # "tasks" takes nothing
        "rác đầy đường",
        "",
        "   ",
        "2",
        "PA-0",  # not a code
    ],
)
def test_text_that_is_not_a_command_is_left_for_the_conversation(typed: str) -> None:
    assert parse_command(typed) is None


def test_every_command_of_the_bot_can_be_typed_on_zalo() -> None:
    assert set(PHRASES) == set(COMMAND_ROLES)


def test_typed_with_diacritics_mời_and_mới_differ_and_without_both_mean_new() -> None:
    assert parse_command("mời tt-hh-12") == Command("invite", ("tt-hh-12",))
    assert parse_command("mới") == Command("new")
    assert parse_command("moi") == Command("new")  # residents far outnumber leaders
    assert parse_command("mới tt-hh-12") is None
