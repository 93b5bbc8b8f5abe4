"""A web crawler on jobqueue's asyncio runtime, over a fake in-memory web (no network).

Two jobs on one event loop:

* "crawl" is a job coroutine: it discovers pages breadth first, fetching each
  wave of links concurrently and calling ``checkpoint()`` between waves (where
  a pause or cancel would land), and reports its progress.
* "check-links" has one task per discovered URL, eight at a time: a page that
  does not exist is a failed task (error code ``PageNotFound``), and the
  completion report lists those.

Run: python examples/asyncio_crawler.py
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from jobqueue import Event
from jobqueue.runtime import AsyncioRuntime, AsyncJobContext, Progress


class PageNotFound(Exception):
    """The fake web has no page at this URL."""


def build_web() -> dict[str, list[str]]:
    """A small site: sections, pages linking to neighbours, and a few dead links."""
    web: dict[str, list[str]] = {"/": ["/docs", "/blog", "/about"], "/about": ["/", "/team"]}
    web["/team"] = ["/about", "/jobs"]  # /jobs does not exist
    for section, count in (("docs", 24), ("blog", 18)):
        pages = [f"/{section}/{i}" for i in range(count)]
        web[f"/{section}"] = [*pages[:5], "/"]
        for i, page in enumerate(pages):
            links = [pages[(i + 1) % count], pages[(i * 7) % count], f"/{section}"]
            if i % 9 == 4:
                links.append(f"/{section}/old-{i}")  # a dead link
            web[page] = links
    return web


WEB = build_web()


async def fetch(url: str) -> list[str]:
    """Fetch a page from the fake web; returns its links."""
    await asyncio.sleep(0.001 + (sum(map(ord, url)) % 5) / 1000)  # network latency
    if url not in WEB:
        raise PageNotFound(f"404 for {url}")
    return WEB[url]


async def main_async(out: TextIO) -> None:
    """Crawl the fake web, then check every link found."""
    found: set[str] = set()
    checked: dict[str, int] = {}

    async def crawl(ctx: AsyncJobContext) -> None:
        seen = {"/"}
        frontier = ["/"]
        fetched = 0
        while frontier:
            await ctx.checkpoint()
            pages = await asyncio.gather(*(fetch(url) for url in frontier), return_exceptions=True)
            fetched += len(frontier)
            frontier = []
            for links in pages:
                if isinstance(links, BaseException):
                    continue  # a dead link: the check job reports it
                for link in links:
                    if link not in seen:
                        seen.add(link)
                        frontier.append(link)
            ctx.progress(fetched / len(seen))
        found.update(seen)

    async def check(url: str) -> int:
        return len(await fetch(url))

    def show(event: Event) -> None:
        if isinstance(event, Progress) and event.job_id == crawl_job.id:
            out.write(f"  crawl {event.percent:5.1f}% of the pages found so far\n")

    # progress_rate=None: the crawl reports once per wave, so every update is shown.
    async with AsyncioRuntime(concurrency=8, progress_rate=None) as runtime:
        crawl_job = runtime.submit(job=crawl, name="crawl")
        runtime.subscribe(show)
        crawled = await runtime.wait(crawl_job.id, timeout=30)
        out.write(f"crawl: {crawled.status}, {len(found)} URLs found\n")

        check_job = runtime.submit(
            check,
            tasks=sorted(found),
            name="check-links",
            report="failed",
            on_result=checked.__setitem__,
        )
        done = await runtime.wait(check_job.id, timeout=30)
        report = runtime.scheduler.report(check_job.id)

    out.write(
        f"check-links: {done.status}, {done.tasks_succeeded} pages ok "
        f"({sum(checked.values())} links), {done.tasks_failed} broken\n"
    )
    if report is not None:
        for record in report.records:
            out.write(f"  broken: {record.key} ({record.error_code})\n")


def main(out: TextIO = sys.stdout) -> None:
    """Run the example, writing to ``out``."""
    asyncio.run(main_async(out))


if __name__ == "__main__":
    main()
