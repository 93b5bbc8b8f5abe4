"""Shared test configuration: hypothesis profiles, test tiers, the runtimes' thread check.

``ci`` has a fixed budget and a fixed seed so a CI run takes the same time and
explores the same cases every time; ``dev`` (the default) explores more.
Choose with ``HYPOTHESIS_PROFILE=ci``.

Tiers. ``pytest -m "not slow"`` runs the fast core tier: the scheduler, its
policies, the store, the simulator, the harness and the reference models, all
in process on a ``ManualClock``. Tests marked ``slow`` are the rest: building
and installing the wheel (``test_wheel_harness``), the crash rounds that kill
a child process (``test_store_crash``, and the killed child of
``test_runtime_takeover``), every test of a real runtime (marked ``runtime``:
threads, asyncio, executors, counted as slow here), the examples run as
programs (``test_examples``), the full runs of the policy state machine over
the stock policies (``test_harness``, ``test_harness_controls``, the README's
policy example) and the benchmark smoke runs (``test_bench_*_smoke``). A plain
``pytest`` runs both tiers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    stateful_step_count=40,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    max_examples=100,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test of a real runtime belongs to the slow tier."""
    for item in items:
        if item.get_closest_marker("runtime") is not None:
            item.add_marker(pytest.mark.slow)


def _our_threads() -> set[threading.Thread]:
    # Dask keeps a process-wide offload thread alive on purpose; it is not ours.
    return {t for t in threading.enumerate() if not t.name.startswith("Dask-")}


@pytest.fixture
def no_thread_left_behind() -> Iterator[None]:
    """A runtime test must end with exactly the threads it started with."""
    before = _our_threads()
    yield
    assert _our_threads() == before
