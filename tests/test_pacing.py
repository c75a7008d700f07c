"""Pacing with the bucket every process shares: a process that wakes late for
its slot (its event loop was busy) takes a new one instead of sending in a burst
with every other message whose slot passed meanwhile."""

from __future__ import annotations

import pytest

from bot.app.pacing import LATE_SECONDS, LATE_SLOTS, Pacer


class Bucket:
    """The shared bucket as `storage/postgres/pace.py` keeps it: slots a gap apart."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.next_at = 0.0
        self.backlog = 0.0  # seconds of other processes' messages queued ahead
        self.taken: list[float] = []

    async def slot(self, bucket: str, gap: float) -> float:
        at = max(self.next_at, self.clock[0] + self.backlog)
        self.next_at = at + gap
        self.taken.append(at)
        return at - self.clock[0]

    async def hold(self, bucket: str, seconds: float) -> None:
        self.next_at = max(self.next_at, self.clock[0] + seconds)


def paced(stall: list[float]) -> tuple[Pacer, Bucket, list[float]]:
    """A pacer at 4 a second whose sleeps overrun by the next of ``stall`` (a busy loop;
    the first message's slot is now, so it does not sleep)."""
    clock = [100.0]
    bucket = Bucket(clock)

    async def sleep(seconds: float) -> None:
        clock[0] += seconds + (stall.pop(0) if stall else 0.0)

    pacer = Pacer(4.0, sleep=sleep, now=lambda: clock[0], shared=bucket, bucket="zalo")
    return pacer, bucket, clock


async def test_a_slot_woken_on_time_is_used() -> None:
    pacer, bucket, _ = paced([LATE_SECONDS / 2])
    await pacer.turn()
    await pacer.turn()
    assert bucket.taken == pytest.approx([100.0, 100.25])


@pytest.mark.parametrize("late", [1.0, 2 * LATE_SECONDS], ids=["a second", "a little"])
async def test_a_slot_missed_is_taken_again(late: float) -> None:
    """Late by a second, or by less than the gap between slots (0.25 s here) but more
    than `LATE_SECONDS`: sent at once, it would reach the platform close behind the next
    slot's message, and a second's count there could hold one too many."""
    pacer, bucket, clock = paced([late])  # the second message wakes late
    await pacer.turn()
    await pacer.turn()
    assert len(bucket.taken) == 3, "the late slot was given up and a new one taken"
    assert clock[0] == pytest.approx(bucket.taken[-1]), "the message leaves at its new slot"


async def test_a_message_late_every_time_goes_after_so_many_slots() -> None:
    pacer, bucket, _ = paced([1.0] * 10)
    bucket.backlog = 10.0  # other processes' messages queued ahead: every slot is a wait
    await pacer.turn()
    assert len(bucket.taken) == LATE_SLOTS


async def test_a_slow_down_heard_by_one_process_holds_the_shared_bucket() -> None:
    """A 429 one process hears is passed on to the bucket every process draws from: the
    next slot, whoever takes it, is after the pause."""
    pacer, bucket, clock = paced([])
    await pacer.turn()
    pacer.pause(2.0)
    await pacer.turn()
    assert bucket.next_at - 0.25 >= 100.0 + 2.0, "the bucket itself was held"
    assert clock[0] >= 102.0, "and this message waited for it"


async def test_a_shared_bucket_out_of_reach_paces_alone_says_so_once_and_comes_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The database holding the shared bucket stops answering: the process paces itself
    at the same rate (one warning, not one per message), and draws from the bucket again
    once it answers."""
    pacer, bucket, clock = paced([])
    answering = [False]
    slot = bucket.slot

    async def flaky(name: str, gap: float) -> float:
        if not answering[0]:
            raise OSError("the database went away")
        return await slot(name, gap)

    bucket.slot = flaky  # type: ignore[method-assign]
    began = clock[0]
    for _ in range(3):
        await pacer.turn()
    assert bucket.taken == []
    assert clock[0] == pytest.approx(began + 0.5), "still 4 a second, paced alone"
    warnings = [r for r in caplog.records if "out of reach" in r.getMessage()]
    assert len(warnings) == 1
    answering[0] = True
    await pacer.turn()
    assert len(bucket.taken) == 1, "back on the shared bucket"
