"""The examples in docstrings run, and show what they say."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import jobqueue


def _modules() -> list[str]:
    names = ["jobqueue"]
    for info in pkgutil.walk_packages(jobqueue.__path__, "jobqueue."):
        if info.name != "jobqueue.__main__":
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} doctest(s) failed in {name}"
