"""``ctx.save`` / ``ctx.saved`` and journaled progress on real runtimes.

A job function saves plain data on its job and reads it back; with a store,
what it saved and its progress (at the throttled rate) are journaled, so the
runtime that takes the job over after a crash runs it again from the start
with ``ctx.saved`` to resume from. The crash is a copy of the store taken
while the job function waits on a gate (as in ``test_runtime_takeover.py``),
or a child process killed with SIGKILL. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers import fingerprint, kill_crash_child

from jobqueue import Event, JobStatus, Retry, Scheduler, ValidationError, WorkSaved
from jobqueue._saved_state import decode_state, encode_state
from jobqueue.runtime import (
    AsyncioRuntime,
    AsyncJobContext,
    Handler,
    JobContext,
    ThreadRuntime,
    _trusted,
)
from jobqueue.store import MemoryStore, SQLiteStore

pytestmark = [pytest.mark.runtime, pytest.mark.usefixtures("no_thread_left_behind")]

TIMEOUT = 10.0
S = JobStatus
QUICK = Retry(attempts=3, backoff=0.005, factor=1.0, max_backoff=0.005, jitter=0.0)


def saved(sched: Scheduler, job_id: str) -> object:
    data = _trusted.saved(sched, job_id)
    return None if data is None else decode_state(data)


# ---------------------------------------------------------------------- one run


def test_a_job_function_reads_back_a_copy_of_what_it_saved() -> None:
    seen: list[object] = []

    def work(ctx: JobContext) -> object:
        seen.append(ctx.saved)  # nothing saved yet
        state: dict[str, Any] = {"next": 1, "rows": [b"a"]}
        ctx.save(state)
        state["rows"].append(b"b")  # changes nothing saved
        seen.append(ctx.saved)
        seen.append(ctx.saved is ctx.saved)  # a fresh copy on each read
        ctx.save((1, 2.5, None, True))
        return ctx.saved

    with ThreadRuntime(max_workers=1) as rt:
        assert rt.submit(job=work).result(TIMEOUT) == (1, 2.5, None, True)
    assert seen == [None, {"next": 1, "rows": [b"a"]}, False]


def test_a_refused_save_leaves_the_job_and_the_store_as_they_were() -> None:
    store = MemoryStore()
    sched = Scheduler.open(store)
    errors: list[str] = []
    unchanged: list[bool] = []

    def work(ctx: JobContext) -> object:
        ctx.save({"next": 2})
        before = (fingerprint(sched), len(store))
        for bad in ({"rows": {1, 2}}, {3: "x"}, "x" * 70_000):
            try:
                ctx.save(bad)
            except ValidationError as exc:
                errors.append(str(exc))
        unchanged.append((fingerprint(sched), len(store)) == before)
        return ctx.saved

    with ThreadRuntime(sched, max_workers=1) as rt:
        assert rt.submit(job=work).result(TIMEOUT) == {"next": 2}
    assert errors == [
        "state['rows'] must be None, bool, int, float, str, bytes, list, tuple or dict, got set",
        "state keys must be str, got int",
        "state must encode to at most 65536 bytes, got 70009",
    ]
    assert unchanged == [True]


def test_a_retry_resumes_from_what_the_failed_attempt_saved() -> None:
    def work(ctx: JobContext) -> object:
        state = ctx.saved or {"attempts": 0, "done": []}
        state["attempts"] += 1
        state["done"].append(f"step {len(state['done'])}")
        ctx.save(state)
        if state["attempts"] < 3:
            raise ConnectionError("flaky")
        return state

    with ThreadRuntime(max_workers=1) as rt:
        handle = rt.submit(job=work, retry=QUICK)
        assert handle.result(TIMEOUT) == {"attempts": 3, "done": ["step 0", "step 1", "step 2"]}
        assert rt.get(handle.id).attempt == 3


def test_an_asyncio_job_function_saves_and_reads_back() -> None:
    async def work(ctx: AsyncJobContext) -> object:
        ctx.save([ctx.saved, {"n": 1}])
        await ctx.checkpoint()
        return ctx.saved

    async def scenario() -> object:
        async with AsyncioRuntime() as rt:
            return await rt.submit(job=work)

    assert asyncio.run(asyncio.wait_for(scenario(), TIMEOUT)) == [None, {"n": 1}]


# ---------------------------------------------------------------------- after a crash


def test_after_a_crash_the_job_function_resumes_where_it_saved() -> None:
    store = MemoryStore()
    sched = Scheduler.open(store)
    saved_three = threading.Event()
    gate = threading.Event()

    def first_run(ctx: JobContext) -> None:
        for step in range(3):
            ctx.progress((step + 1) / 10)
            ctx.save({"next": step + 1})  # journaled with the progress before it
        saved_three.set()
        gate.wait(TIMEOUT)

    with ThreadRuntime(sched, max_workers=1) as rt:
        job = rt.submit(job=first_run)
        assert saved_three.wait(TIMEOUT)
        crashed = store.copy()  # the process dies here: its journal is all that is left
        gate.set()

    again = Scheduler.open(crashed)
    assert again.get(job.id).progress == 0.3
    ran: list[int] = []

    def resume(ctx: JobContext) -> None:
        state = ctx.saved
        for step in range(state["next"], 5):
            ran.append(step)
            ctx.progress((step + 1) / 5)
            ctx.save({"next": step + 1})

    with ThreadRuntime(again, max_workers=1, work_for=lambda j: Handler(job=resume)) as rt:
        done = rt.wait(job.id, TIMEOUT)
    assert ran == [3, 4]
    assert (done.status, done.progress) == (S.COMPLETE, 1.0)
    assert saved(again, job.id) == {"next": 5}


def test_an_asyncio_runtime_that_takes_a_job_over_sees_what_it_saved() -> None:
    store = MemoryStore()
    sched = Scheduler.open(store)
    job = sched.submit()  # Active at the crash, its work gone with the process
    sched.set_progress(job.id, 0.4)
    _trusted.save(sched, job.id, encode_state({"next": 4, "rows": (b"\x00", 1.5)}))
    again = Scheduler.open(store.copy())
    seen: list[object] = []

    async def resume(ctx: AsyncJobContext) -> None:
        seen.append((ctx.saved, ctx.job.progress))

    async def scenario() -> None:
        async with AsyncioRuntime(again, work_for=lambda j: Handler(job=resume)) as rt:
            assert (await rt.wait(job.id, TIMEOUT)).status is S.COMPLETE

    asyncio.run(asyncio.wait_for(scenario(), TIMEOUT))
    assert seen == [({"next": 4, "rows": (b"\x00", 1.5)}, 0.4)]


def test_progress_is_journaled_at_the_throttled_rate_without_subscribers() -> None:
    store = MemoryStore()
    sched = Scheduler.open(store)
    journaled: list[WorkSaved] = []
    last = threading.Event()

    def on(event: Event) -> None:
        if isinstance(event, WorkSaved):
            journaled.append(event)
            if event.progress == 1.0:
                last.set()

    sched.subscribe(on)  # on the scheduler: the runtime has no subscriber
    gate = threading.Event()

    def work(ctx: JobContext) -> None:
        for i in range(1, 1001):
            ctx.progress(i / 1000)
        gate.wait(TIMEOUT)

    with ThreadRuntime(sched, max_workers=1, progress_rate=20.0) as rt:
        job = rt.submit(job=work)
        assert last.wait(TIMEOUT)  # the last value goes out in its turn
        crashed = store.copy()
        gate.set()
    assert not any(e.state for e in journaled)
    # One write per interval at most, not one per call.
    gaps = [b.time - a.time for a, b in itertools.pairwise(journaled)]
    assert len(journaled) < 1000 and min(gaps, default=1.0) >= 0.05 - 1e-9
    assert Scheduler.open(crashed).get(job.id).progress == 1.0


@pytest.mark.slow  # a child process killed mid-job
@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_a_job_function_killed_mid_job_resumes_in_the_next_process(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    job_id = kill_crash_child(path, "job", timeout=TIMEOUT)
    with SQLiteStore(path) as store:
        sched = Scheduler.open(store)
        assert sched.get(job_id).progress == 0.5
        ran: list[int] = []

        def resume(ctx: JobContext) -> None:
            for step in range(ctx.saved["next"], 10):
                ran.append(step)
                ctx.progress((step + 1) / 10)
                ctx.save({"next": step + 1})

        with ThreadRuntime(sched, max_workers=1, work_for=lambda job: Handler(job=resume)):
            pass  # leaving the block waits for the work to finish
        assert ran == [5, 6, 7, 8, 9]
        done = sched.get(job_id)
        assert (done.status, done.progress) == (S.COMPLETE, 1.0)
        assert saved(sched, job_id) == {"next": 10}
