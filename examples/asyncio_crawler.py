"""A web crawler on jobqueue's asyncio runtime, over a fake in-memory web (no network).

Two jobs on one event loop:

* "crawl" is a job coroutine: it discovers pages breadth first, fetching each
  wave of links concurrently and calling ``checkpoint()`` between waves (where
  a pause or cancel would land), and reports its progress.
* "check-links" has one task per discovered URL, eight at a time: a page that
  does not exist is a failed task (error code ``PageNotFound``). The job is
  Complete, but awaiting its handle raises ``TaskFailures``: the dead links,
  each with its exception, and the links counted on the live pages.

Each ``submit`` returns a handle to await: the crawl's handle gives what the
job coroutine returned.

Run: python examples/asyncio_crawler.py
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from jobqueue import Event
from jobqueue.runtime import AsyncioRuntime, AsyncJobContext, Progress, TaskFailures


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

    async def crawl(ctx: AsyncJobContext) -> set[str]:
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
        return seen

    async def check(url: str) -> int:
        return len(await fetch(url))

    def show(event: Event) -> None:
        if isinstance(event, Progress) and event.job_id == crawl_job.id:
            out.write(f"  crawl {event.percent:5.1f}% of the pages found so far\n")

    # progress_rate=None: the crawl reports once per wave, so every update is shown.
    async with AsyncioRuntime(concurrency=8, progress_rate=None) as runtime:
        crawl_job = runtime.submit(job=crawl, name="crawl")
        runtime.subscribe(show)
        found = await asyncio.wait_for(asyncio.shield(crawl_job), timeout=30)
        out.write(f"crawl: {crawl_job.job().status}, {len(found)} URLs found\n")

        check_job = runtime.submit(check, tasks=sorted(found), name="check-links")
        try:
            links = await check_job  # every page's link count, by URL
            broken: dict[str, Exception] = {}
        except TaskFailures as failures:
            links, broken = failures.result, dict(failures.failures)  # type: ignore[assignment]
        done = check_job.job()

    out.write(
        f"check-links: {done.status}, {len(links)} pages ok "
        f"({sum(links.values())} links), {len(broken)} broken\n"
    )
    for url, exc in broken.items():
        out.write(f"  broken: {url} ({type(exc).__name__})\n")


def main(out: TextIO = sys.stdout) -> None:
    """Run the example, writing to ``out``."""
    asyncio.run(main_async(out))


if __name__ == "__main__":
    main()
