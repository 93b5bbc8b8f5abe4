"""Imported first by ``jobqueue.testing``: without hypothesis, say which extra to install."""

try:
    import hypothesis
except ImportError as exc:
    raise ImportError("jobqueue.testing needs hypothesis: pip install 'jobqueue[testing]'") from exc

__all__ = ["hypothesis"]
