"""The public API's 18 names (``almanac.__all__``) carry complete numpydoc docstrings, and their examples run.

``pytest`` collects the package's doctests too (``--doctest-modules`` over ``src/almanac``); this file runs the
public names' examples on their own, so ``pytest tests`` checks them, and fails when a name has none.
"""

from __future__ import annotations

import doctest
import inspect
import re

import pytest

import almanac

# numpydoc sections every public name has; a class has no Returns (its Parameters are its fields).
FUNCTION_SECTIONS = ("Parameters", "Returns", "Raises", "Examples")
CLASS_SECTIONS = ("Parameters", "Raises", "Examples")


def _sections(doc: str) -> list[str]:
    return re.findall(r"^(\w[\w ]*)\n-+$", doc, re.M)


@pytest.mark.parametrize("name", almanac.__all__)
def test_public_names_have_complete_numpydoc(name):
    obj = getattr(almanac, name)
    doc = inspect.getdoc(obj) or ""
    expected = CLASS_SECTIONS if inspect.isclass(obj) else FUNCTION_SECTIONS
    found = _sections(doc)
    assert [s for s in found if s in expected] == list(expected), f"{name}: sections {found}, expected {expected}"
    if not inspect.isclass(obj):  # every argument is documented, with its default when it has one
        params = doc.split("\nParameters\n", 1)[1].split("\nReturns\n", 1)[0]
        for arg in inspect.signature(obj).parameters.values():
            line = re.search(rf"^{arg.name} : (.*)$", params, re.M)
            assert line, f"{name}: {arg.name} is not documented"
            if arg.default is not inspect.Parameter.empty:
                assert re.search(r"optional|default", line.group(1)), f"{name}: {arg.name}: say its default"


@pytest.mark.parametrize("name", almanac.__all__)
def test_public_examples_run(name):
    obj = getattr(almanac, name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, name, module=inspect.getmodule(obj))
    assert tests and tests[0].examples, f"{name}: no example"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed (output above)"
