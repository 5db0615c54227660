"""almanac.stage_io: a stage logs the library's warnings (AlmanacWarning) as it logged them before."""

from __future__ import annotations

import ast
import gc
import importlib.util
import logging
import os
import platform
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from almanac.errors import AlmanacWarning
from almanac.ml.backtester import flag_degenerate
from almanac.stage_io import read_params

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def _thin_backtest() -> None:
    flag_degenerate({"days": 1754, "trades": 41, "sharpe": 1.0}, np.linspace(0.4, 0.6, 1754), None)


def test_a_notebook_can_catch_or_silence_the_library_warnings():
    with pytest.warns(AlmanacWarning, match="41 trades in 1754 days: fewer than the 600"):
        _thin_backtest()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", AlmanacWarning)
        _thin_backtest()


def test_a_stage_logs_them_by_the_module_that_warned_each_time(caplog):
    read_params(str(PARAMS))  # what every stage calls first; pytest restores warnings' state after the test
    with caplog.at_level(logging.WARNING):
        _thin_backtest()
        _thin_backtest()
    logged = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.name for r in logged] == ["almanac.ml.backtester"] * 2
    assert logged[0].getMessage().startswith("41 trades in 1754 days: fewer than the 600 a PSR needs")


def test_other_warnings_keep_python_s_format(capsys):
    read_params(str(PARAMS))
    warnings.simplefilter("always", RuntimeWarning)  # pytest's configuration makes other warnings errors
    warnings.warn("not ours", RuntimeWarning, stacklevel=1)
    assert "RuntimeWarning: not ours" in capsys.readouterr().err


def test_stages_keep_large_buffers_off_huge_pages():
    """run_stage switches Arrow to its system pool (and numpy's huge-page advice off) unless the environment says
    otherwise; checked in a fresh interpreter, as the switch is process-wide."""
    code = (
        "import numpy, pyarrow; from almanac import stage_io; stage_io._small_pages_for_arrays(); "
        "print(pyarrow.default_memory_pool().backend_name)"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("ARROW_DEFAULT_MEMORY_POOL", "NUMPY_MADVISE_HUGEPAGE")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "system"
    kept = subprocess.run(
        [sys.executable, "-c", code], env={**env, "ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    assert kept.stdout.strip() == "mimalloc"


def test_keep_freed_memory_sets_glibc_thresholds_unless_the_environment_does():
    """Checked in fresh interpreters, as malloc's settings are process-wide."""
    code = "from almanac import stage_io; print(stage_io.keep_freed_memory())"
    names = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
    env = {k: v for k, v in os.environ.items() if k not in names}

    def applied(**extra: str) -> str:
        run = subprocess.run([sys.executable, "-c", code], env={**env, **extra}, capture_output=True, text=True)
        return run.stdout.strip()

    assert applied() == str(sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")
    assert applied(MALLOC_TRIM_THRESHOLD_="131072") == "False"
    assert applied(GLIBC_TUNABLES="glibc.malloc.mmap_threshold=65536") == "False"


STAGES = sorted((PARAMS.parent / "stages").glob("*.py"))


def _is_import(node: ast.stmt) -> bool:
    return isinstance(node, (ast.Import, ast.ImportFrom)) and not (
        isinstance(node, ast.ImportFrom) and node.module == "__future__"
    )


def _calls(node: ast.stmt, text: str) -> bool:
    return isinstance(node, ast.Expr) and ast.unparse(node.value) == text


@pytest.mark.parametrize("script", STAGES, ids=lambda p: p.stem)
def test_a_stage_imports_without_cyclic_collection_and_switches_it_back_on(script):
    body = ast.parse(script.read_text()).body
    imports = [i for i, node in enumerate(body) if _is_import(node)]
    disable = next(i for i, node in enumerate(body) if _calls(node, "gc.disable()"))
    assert ast.unparse(body[imports[0]]) == "import gc" and imports[1] > disable, "gc.disable() before the imports"
    assert _calls(body[imports[-1] + 1], "imports_done()"), "imports_done() right after the last import"
    # The tests load stage scripts as modules: loading one leaves collection on (and its objects frozen).
    spec = importlib.util.spec_from_file_location(f"gc_check_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert gc.isenabled()
