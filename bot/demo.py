"""`phananh demo`: a short, complete story played offline.

Three residents file five complaints on Telegram (one starts with a photo's
caption, one with his own words: the bot suggests the problem, he confirms
it with one tap); a fourth is shown the report of the same rubbish already
there and follows it instead (issue 17); cadres acknowledge, one transfers,
one rejects a duplicate (its reporter then follows the original), two
resolve; the followers hear of the fix; one resident confirms and rates, one
disputes.  Then Zalo beside Telegram: a resident on Zalo types
every answer and sends a photo, her complaint reaches a cadre on Telegram,
whose photo of the fix reaches her on Zalo; and a cadre who added his Zalo
account works a Telegram resident's complaint there.  Everything runs
through the real channels, handlers and SQLite file, over the in-package
fake Bot APIs (Telegram's and Zalo's), with a clock that moves by itself.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.app.admin import Admin
from bot.config import PASSWORD_PLACEHOLDER, PostgresUrl, Secret, Settings
from bot.domain.clock import ManualClock
from bot.domain.digest import week_of
from bot.domain.geo import centroid
from bot.domain.orgchart import Role
from bot.i18n import t
from bot.orgio.reader import load_org_file
from bot.runtime import DEMO_MARK, fresh_database, opened
from bot.sandbox.driver import PUBLIC_URL, BotDriver, ZaloDriver, driven
from bot.sandbox.telegram import FakeUser, JSONDict, SentMessage
from bot.sandbox.zalo import FakeZaloApi, FakeZaloUser, ZaloSent
from handlers.zalo.links import ZaloLinks

EXAMPLE_ORG = Path(__file__).resolve().parent.parent / "examples" / "org.yaml"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
# Monday 23/11/2026, 08:30 in Hạ Long.
DEMO_START = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


class Transcript:
    """Prints who said what, in the ward's local time, buttons as [label];
    on Zalo, where there are no buttons, the numbered lists are the text."""

    def __init__(self, driver: BotDriver, clock: ManualClock, out: TextIO) -> None:
        self.driver = driver
        self.clock = clock
        self.out = out
        self.names: dict[int, str] = {}
        self.zalo_names: dict[str, str] = {}

    def _stamp(self) -> str:
        return (self.clock.now() + timedelta(hours=7)).strftime("%d/%m %H:%M")

    def _print(self, head: str, body: str) -> None:
        lines = body.splitlines() or [""]
        self.out.write(f"{head}{lines[0]}\n")
        pad = " " * len(head)
        for line in lines[1:]:
            self.out.write(f"{pad}{line}\n")

    def bot_said(self, messages: list[SentMessage]) -> None:
        for message in messages:
            who = self.names.get(message.chat_id, str(message.chat_id))
            if message.kind == "location" and message.location:
                body = f"[📍 {message.location[0]:.5f}, {message.location[1]:.5f}]"
            elif message.kind in ("photo", "media_group_photo"):
                body = "[ảnh]" + (f" {message.text}" if message.text else "")
            else:
                body = message.text or ""
            buttons = [label for label, _ in self.driver.api.buttons(message)]
            buttons += self.driver.api.reply_keyboard(message)
            if buttons:
                body += "\n" + " ".join(f"[{b}]" for b in buttons)
            self._print(f"  {self._stamp()} 🤖 → {who}: ", body)

    def zalo_said(self, messages: list[ZaloSent]) -> None:
        for message in messages:
            who = self.zalo_names.get(message.chat_id, message.chat_id)
            if message.kind == "photo":
                body = "[ảnh]" + (f" {message.caption}" if message.caption else "")
            else:
                body = message.text or ""
            self._print(f"  {self._stamp()} 🤖 → {who}: ", body)

    def person_did(self, user: FakeUser, what: str) -> None:
        self._print(f"  {self._stamp()} 👤 {self.names[user.user_id]}: ", what)

    def zalo_person_did(self, user: FakeZaloUser, what: str) -> None:
        self._print(f"  {self._stamp()} 👤 {self.zalo_names[user.user_id]}: ", what)


class Story:
    def __init__(self, driver: BotDriver, clock: ManualClock, out: TextIO) -> None:
        self.driver = driver
        self.clock = clock
        self.log = Transcript(driver, clock, out)
        self.out = out

    def person(self, user_id: int, name: str) -> FakeUser:
        self.log.names[user_id] = name
        return self.driver.user(user_id, name.split()[-1])

    @property
    def zalo(self) -> ZaloDriver:
        assert self.driver.zalo is not None
        return self.driver.zalo

    def zalo_person(self, name: str, display_name: str) -> FakeZaloUser:
        """Someone on Zalo: ``name`` in the transcript, ``display_name`` as Zalo shows it."""
        user = self.zalo.user(display_name)
        self.log.zalo_names[user.user_id] = f"{name} (Zalo)"
        return user

    def scene(self, title: str, minutes: int = 5) -> None:
        self.clock.advance(timedelta(minutes=minutes))
        self.out.write(f"\n— {title}\n")

    async def _after(self, messages: list[SentMessage]) -> None:
        """What the bot sent because of a step on Telegram: there, then on Zalo."""
        self.log.bot_said(messages)
        if self.driver.zalo is not None:
            self.log.zalo_said(self.driver.zalo.new_messages())
        self.clock.advance(timedelta(minutes=1))

    async def types(self, user: FakeZaloUser, text: str) -> None:
        """A Zalo user types ``text``; what the bot sent because of it, on
        Zalo, then on Telegram."""
        self.log.zalo_person_did(user, text)
        await self._after_zalo(await self.zalo.send(user.text(text)))

    async def sends_image(self, user: FakeZaloUser, what: str) -> None:
        self.log.zalo_person_did(user, what)
        await self._after_zalo(await self.zalo.send(user.image()))

    async def _after_zalo(self, messages: list[ZaloSent]) -> None:
        self.log.zalo_said(messages)
        self.log.bot_said(self.driver.new_messages())
        self.clock.advance(timedelta(minutes=1))

    async def says(self, user: FakeUser, text: str) -> None:
        self.log.person_did(user, text)
        await self._after(await self.driver.send(user.text(text)))

    async def command(self, user: FakeUser, name: str, *args: str) -> None:
        self.log.person_did(user, " ".join([f"/{name}", *args]))
        await self._after(await self.driver.send(user.command(name, *args)))

    async def sends(self, user: FakeUser, what: str, build: Callable[[], JSONDict]) -> None:
        self.log.person_did(user, what)
        await self._after(await self.driver.send(build()))

    async def presses(self, user: FakeUser, data: str) -> None:
        message, found = self.driver.find_button(user.user_id, rf"^{data}$")
        label = next(lbl for lbl, d in self.driver.api.buttons(message) if d == found)
        self.log.person_did(user, f"[{label}]")
        await self._after(await self.driver.send(user.press(message, found)))

    async def chooses(self, user: FakeUser, key: str) -> None:
        await self.presses(user, rf"q:\d+:{key}")

    async def operator_runs(self, *command: str) -> None:
        """The ward office at the command line (``phananh staff deactivate``),
        beside the running bot; what the outbox sends because of it follows."""
        self.out.write(f"  {self.log._stamp()} 💻 $ phananh {' '.join(command)}\n")
        if command[:2] == ("staff", "deactivate"):
            await Admin(self.driver.services).deactivate(command[2])
        await self._after(await self.driver.flush())

    async def zalo_code_for(self, staff_id: str) -> str:
        """``phananh invite --add``: the one-time code a staff member types on
        Zalo to add that account beside their Telegram one (the printed
        Telegram link is left out of the transcript)."""
        role = "cadre"
        self.out.write(
            f"  {self.log._stamp()} 💻 $ phananh invite --add --role {role} --staff {staff_id}\n"
        )
        admin = Admin(self.driver.services)
        invite = await admin.invite(staff_id, Role(role), ZaloLinks(), add=True)
        code = ZaloLinks().invite(invite.token)
        self._print_line(t("vi", "cli.invite_code", code=code))
        return code

    def _print_line(self, text: str) -> None:
        self.out.write(f"  {' ' * len(self.log._stamp())}    {text}\n")

    async def sweep_at(self, local: datetime) -> None:
        """Jump the clock to a local time and run the reminder sweep, as the
        bot's periodic job would; what fell due in between comes out once."""
        self.clock.set(local)
        self.out.write("  … ⏰\n")
        await self._after(await self.driver.tick())


async def play(story: Story) -> None:
    chart = story.driver.services.chart
    an = story.person(501, "Chị Lan")
    binh = story.person(502, "Anh Bình")
    cuong = story.person(503, "Ông Cường")
    hoa = story.person(504, "Chị Hoa")
    thang = story.person(7013, "CB môi trường Thắng")
    toan = story.person(7026, "Tổ trưởng Toàn")
    tuan = story.person(7011, "CB địa chính Tuấn")
    story.person(7012, "CB địa chính Nhung")
    ha = story.person(7002, "Bí thư Thu Hà")

    tdp03 = chart.areas["HH-TDP03"]
    assert tdp03.polygon is not None
    spot = centroid(tdp03.polygon)

    story.scene("1. Chị Lan gửi ngay ảnh kèm chú thích: rác không được thu gom; gửi vị trí", 0)
    await story.command(an, "start")
    caption = "Rác ở đầu ngõ 12 ba ngày nay không ai thu gom, bốc mùi."
    await story.sends(an, f"[ảnh] {caption}", lambda: an.photo(caption=caption))
    await story.chooses(an, "RKTG")
    await story.sends(an, "[📍 vị trí]", lambda: an.location(spot.lat, spot.lon))
    await story.chooses(an, "ok")

    story.scene("2. Anh Bình quét mã QR của tổ 6 và gõ không dấu")
    await story.command(binh, "start", "a-HH-TDP06")
    await story.says(binh, "trat tu do thi")
    await story.says(binh, "lan chiem via he")
    await story.says(
        binh, "Quán nước bày bàn ghế kín vỉa hè trước số 25, người đi bộ phải xuống lòng đường."
    )
    await story.says(binh, "xong")
    await story.says(binh, "1")

    story.scene("3. Ông Cường báo xây dựng không phép, chọn tổ bằng cách gõ tên")
    await story.command(cuong, "new")
    await story.says(cuong, "1")
    await story.says(cuong, "xay dung khong phep")
    await story.says(cuong, "Phường Hồng Hải")
    await story.says(cuong, "to dan pho 2")
    await story.says(cuong, "Nhà số 8 đang đổ thêm tầng 4, không thấy biển cấp phép.")
    await story.chooses(cuong, "d")
    await story.chooses(cuong, "ok")

    story.scene("4. Chỗ rác của chị Lan: chị Hoa theo dõi phản ánh đã có, anh Bình vẫn gửi mới")
    await story.command(hoa, "new")
    await story.chooses(hoa, "sanitation")
    await story.chooses(hoa, "RKTG")
    await story.sends(hoa, "[📍 vị trí]", lambda: hoa.location(spot.lat - 0.0003, spot.lon))
    await story.says(hoa, "Đống rác cuối ngõ 12 bốc mùi cả tuần nay.")
    await story.chooses(hoa, "d")
    await story.chooses(hoa, "f1")  # the report already there, 33 m away: followed
    await story.command(binh, "new")
    await story.chooses(binh, "sanitation")
    await story.chooses(binh, "RKTG")
    await story.sends(binh, "[📍 vị trí]", lambda: binh.location(spot.lat + 0.0002, spot.lon))
    await story.says(binh, "Rác không được thu gom ở ngõ 12.")
    await story.chooses(binh, "d")
    await story.chooses(binh, "ok")

    story.scene(
        "5. Ông Cường gõ ngay sự việc: bot gợi ý vấn đề (cán bộ vòi vĩnh), ông bấm xác nhận"
    )
    await story.says(cuong, "Cán bộ địa chính gợi ý “bồi dưỡng” thì mới ký xác nhận hồ sơ.")
    await story.chooses(cuong, "NNCB")
    await story.chooses(cuong, "n")
    await story.chooses(cuong, "HONGHAI")
    await story.chooses(cuong, "HH-TDP05")
    await story.chooses(cuong, "d")
    await story.chooses(cuong, "ok")

    story.scene(
        "6. Cán bộ môi trường tiếp nhận, xử lý; phản ánh trùng: anh Bình chuyển sang theo dõi",
        20,
    )
    await story.presses(thang, "a:1")
    await story.chooses(thang, "t1")
    await story.presses(thang, "j:4")
    await story.chooses(thang, "duplicate")
    await story.chooses(thang, "1")  # the original, offered: PA-000001
    story.clock.advance(timedelta(hours=2))
    await story.presses(thang, "r:1")
    await story.says(thang, "Đã thu gom toàn bộ rác, rửa lại đầu ngõ 12.")
    await story.sends(thang, "[ảnh sau xử lý]", thang.photo)

    story.scene("7. Chị Lan xác nhận và chấm điểm")
    await story.presses(an, "f:1")
    await story.chooses(an, "5")

    story.scene("8. Tổ trưởng tổ 6 xử lý; anh Bình báo chưa khắc phục", 30)
    await story.presses(toan, "a:2")
    await story.presses(toan, "r:2")
    await story.says(toan, "Đã nhắc chủ quán thu dọn bàn ghế, trả lại vỉa hè.")
    await story.chooses(toan, "s")
    story.clock.advance(timedelta(hours=3))
    await story.presses(binh, "n:2")
    await story.says(binh, "Chiều nay quán lại bày ra như cũ.")

    story.scene(
        "9. Cán bộ địa chính khu 1 chuyển đúng địa bàn; Bí thư tiếp nhận phản ánh về cán bộ"
    )
    await story.presses(tuan, "t:3")
    await story.chooses(tuan, "g")
    await story.says(tuan, "to dan pho 7")
    await story.presses(ha, "a:5")

    await on_zalo(story, thang, cuong)

    story.person(7001, "Chủ tịch phường Hùng")
    story.person(7051, "Chủ tịch phường Bạch Đằng")
    story.person(7091, "Bí thư Thành ủy")
    story.person(7092, "Chủ tịch UBND thành phố")
    # PA-000003 was handed to Nhung at 15:48: she has her own 8 working hours
    # to take it up (Tuesday 24/11 is a public holiday), until Wednesday 14:18.
    story.scene(
        "13. Thứ Tư 25/11 (thứ Ba là ngày nghỉ lễ): PA-000003 chưa được tiếp nhận,"
        " PA-000002 chưa được nhận lại — bot nhắc cán bộ, báo lãnh đạo phường"
    )
    await story.sweep_at(datetime(2026, 11, 25, 14, 30, tzinfo=LOCAL))
    story.scene("14. Một tuần sau: nhắc hạn giải quyết, giao ban sáng, báo cáo tuần")
    await story.sweep_at(datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL))

    story.person(7014, "CA phường Long")
    story.scene("15. CB địa chính Nhung chuyển công tác: văn phòng phường cho ngừng hoạt động", 30)
    await story.operator_runs("staff", "deactivate", "cb-hh-dc2")


async def on_zalo(story: Story, thang: FakeUser, cuong: FakeUser) -> None:
    """Zalo beside Telegram: no buttons, no location pin, every answer typed."""
    mai = story.zalo_person("Cô Mai", "Mai")

    story.scene(
        "10. Cô Mai dùng Zalo: gõ ngay sự việc, gõ số của vấn đề bot gợi ý, gửi ảnh;"
        " phản ánh đến cán bộ trên Telegram"
    )
    await story.types(mai, "Thùng rác đầu ngõ 45 tràn ra đường hai ngày nay, chưa ai thu gom.")
    await story.types(mai, "1")
    await story.types(mai, "hong hai")
    await story.types(mai, "to dan pho 4")
    await story.sends_image(mai, "[ảnh]")
    await story.types(mai, "1")

    story.scene("11. Cán bộ môi trường (Telegram) xử lý, gửi ảnh; cô Mai xem ảnh trên Zalo", 10)
    await story.presses(thang, "a:6")
    await story.chooses(thang, "t2")
    story.clock.advance(timedelta(minutes=20))
    await story.presses(thang, "r:6")
    await story.says(thang, "Đã thu gom hết rác, đặt thêm một thùng ở đầu ngõ 45.")
    await story.sends(thang, "[ảnh sau xử lý]", thang.photo)
    await story.types(mai, "1")
    await story.types(mai, "5")

    story.scene("12. CB địa chính Tuấn thêm tài khoản Zalo, xử lý phản ánh của ông Cường trên Zalo")
    tuan = story.zalo_person("CB địa chính Tuấn", "Tuấn")
    code = await story.zalo_code_for("cb-hh-dc1")
    await story.types(tuan, code)
    await story.command(cuong, "new")
    await story.chooses(cuong, "urban_order")
    await story.chooses(cuong, "BHQC")
    await story.chooses(cuong, "HONGHAI")
    await story.chooses(cuong, "HH-TDP04")
    await story.says(cuong, "Biển quảng cáo lớn treo chắn lối thoát hiểm của nhà số 12.")
    await story.sends(cuong, "[ảnh]", cuong.photo)
    await story.chooses(cuong, "d")
    await story.chooses(cuong, "ok")
    await story.types(tuan, "1")
    await story.types(tuan, "2")
    await story.types(tuan, "báo đã xử lý")
    await story.types(tuan, "Đã yêu cầu chủ nhà tháo biển, lối thoát hiểm đã thông.")
    await story.sends_image(tuan, "[ảnh sau xử lý]")
    await story.presses(cuong, "f:7")
    await story.chooses(cuong, "4")


async def final_lines(driver: BotDriver) -> list[str]:
    services = driver.services
    chart = services.chart
    lines = []
    for complaint in await services.store.all_complaints():
        category = chart.categories[complaint.category].name
        area = chart.areas[complaint.area].name
        owner = chart.staff[complaint.owner].name
        state = t("vi", f"state.{complaint.state.value}")
        lines.append(f"{complaint.code} | {category} | {area} | {owner} | {state}")
    return lines


def shell_value(db: Path | PostgresUrl) -> str:
    """``PHANANH_DB``'s value in a command printed for copying: quoted for
    the shell (a URL's ``?`` and ``&``, a path's spaces), and a PostgreSQL
    URL with ``PASSWORD`` in the password's place — not ``***``, which a
    copied command would send as the password."""
    text = db.for_a_command() if isinstance(db, PostgresUrl) else str(db)
    return shlex.quote(text)


async def run_demo(db: Path | PostgresUrl, out: TextIO | None = None) -> int:
    """The story in a database of its own: a file, emptied first, or a
    PostgreSQL database that is empty or a demo's own (marked as one)."""
    out = out or sys.stdout
    place = {"db_url": db} if isinstance(db, PostgresUrl) else {"db_path": db}
    # Both channels; Zalo fetches the photos the bot shows it from the bot's
    # own web server (PHANANH_PUBLIC_URL), here on a free port of 127.0.0.1.
    settings = Settings(
        telegram_token=Secret("123456:DEMO"),
        zalo_token=Secret("2718281828:DEMO"),
        public_url=PUBLIC_URL,
        http_port=0,
        zalo_rate=1000.0,
        **place,
    )
    await fresh_database(settings)
    clock = ManualClock(DEMO_START)
    async with opened(settings, clock) as core:
        await core.store.replace_org(load_org_file(EXAMPLE_ORG))
        await core.store.set_meta(DEMO_MARK, "1")
    zalo = FakeZaloApi(token=settings.zalo_token.reveal(), clock=clock)
    async with driven(settings, clock, zalo_api=zalo) as driver:
        out.write("Phản Ánh — bản chạy thử ngoại tuyến (offline demo)\n")
        out.write(f"Cơ sở dữ liệu: {db}; sơ đồ tổ chức: {EXAMPLE_ORG.name}\n")
        story = Story(driver, clock, out)
        await play(story)
        # Issue 16's endpoints over the story's database, served apart (no channel, no sweep).
        where = shell_value(db)
        out.write(
            f"\nTrên web / On the web: PHANANH_DB={where} .venv/bin/phananh serve --port 8080,"
            " then http://127.0.0.1:8080/open311/v2/discovery.json (Open311)"
            " and http://127.0.0.1:8080/metrics\n"
        )
        week = week_of(DEMO_START, settings.tz).key
        out.write(
            "Trang số liệu cho lãnh đạo / Leaders' dashboard, with that server running:\n"
            f"  PHANANH_DB={where} PHANANH_PUBLIC_URL=http://127.0.0.1:8080"
            " .venv/bin/phananh web link --staff ld-hh-ct\n"
            "  prints a sign-in link (once, 15 minutes); the story's week is"
            f" http://127.0.0.1:8080/web/week?week={week}\n"
        )
        if isinstance(db, PostgresUrl) and db.password:
            out.write(
                f"  ({PASSWORD_PLACEHOLDER}: mật khẩu trong --db / the password given to --db)\n"
            )
        out.write("\nKết quả / Final state:\n")
        for line in await final_lines(driver):
            out.write(f"  {line}\n")
    return 0
