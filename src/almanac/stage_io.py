"""Glue shared by the stage scripts: argument parsing, the params file and user-facing errors.

Deliberately light: it imports the params schema and the error classes only, so it adds no library code to a
stage's dependencies.  Which params a stage reads is declared once, in ``dvc.yaml``; a test checks that each
stage script reads exactly those.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from almanac.config import Params, ParamsError, load_params
from almanac.errors import AlmanacWarning, BarsError, CorruptFileError, ModelIntegrityError, NotEnoughDataError

# Errors whose message already says what is wrong and what to do: shown without a traceback.
USER_ERRORS = (ParamsError, BarsError, NotEnoughDataError, ModelIntegrityError, CorruptFileError, FileNotFoundError)


def stage_parser(
    doc: str | None, outputs: dict[str, str], inputs: dict[str, str] | None = None
) -> argparse.ArgumentParser:
    """A parser with ``--params`` plus one required ``--<name>`` path option per input and output."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0] if doc else None)
    parser.add_argument("--params", default="params.yaml", help="params file (default: params.yaml)")
    for name, help_text in {**(inputs or {}), **outputs}.items():
        parser.add_argument(f"--{name}", required=True, help=help_text)
    parser.add_argument(
        "--invalidates", nargs="*", default=[], metavar="PATH",
        help="metrics of later stages, removed if this stage fails (they would describe an earlier run)",
    )  # fmt: skip
    return parser


def _invalidated(argv: list[str]) -> list[str]:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--invalidates", nargs="*", default=[])
    return parser.parse_known_args(argv)[0].invalidates


def _remove_stale(argv: list[str]) -> None:
    """After a failure: remove the later stages' metrics (``--invalidates``), which describe an earlier run.

    DVC removes a failed stage's own outputs, but not those of the stages after it; left in place, ``dvc metrics
    show`` would present the previous run's evaluation as this run's.
    """
    removed = [path for path in _invalidated(argv) if Path(path).is_file()]
    for path in removed:
        Path(path).unlink()
    if removed:
        print(f"removed the later stages' metrics of an earlier run: {', '.join(removed)}", file=sys.stderr)


def read_params(path: str) -> Params:
    """Load and validate the *whole* params file (a typo anywhere fails every stage) and set up logging.

    The library's :class:`~almanac.errors.AlmanacWarning` (``warnings.warn``, so a notebook can filter them) go to
    the stage's log, each one, as ``WARNING <module that warned>: <message>``.
    """
    params = load_params(path)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    warnings.simplefilter("always", AlmanacWarning)  # every occurrence, as the log had them
    warnings.showwarning = _log_warning
    return params


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """``warnings.showwarning`` of a stage: an :class:`AlmanacWarning` is logged by the module that issued it."""
    if not issubclass(category, AlmanacWarning):
        (file or sys.stderr).write(warnings.formatwarning(message, category, filename, lineno, line))
        return
    # The issuer is the first frame outside the warnings module (warnings.warn itself is C: it has no frame).
    frame = sys._getframe(1)
    while frame is not None and frame.f_globals.get("__name__") == "warnings":
        frame = frame.f_back
    logging.getLogger(frame.f_globals.get("__name__", "almanac") if frame else "almanac").warning("%s", message)


def _small_pages_for_arrays() -> None:
    """Keep numpy's and Arrow's large buffers off transparent huge pages.

    A stage allocates and frees hundreds of short-lived arrays of tens of MB.  numpy advises the kernel to back
    them with huge pages and Arrow's default pool (mimalloc) does the same; every first touch then costs a 2 MB
    fault that the kernel zeroes, and on the benchmark machine (a 2-core VM) that was most of the stages' system
    time: ``bars`` took 6.5-7.1 s, 3.1-3.9 s of it in the kernel, and 3.9-4.3 s with 0.6 s without numpy's advice;
    ``sessions`` spent 1.3-2.4 s in the kernel with mimalloc and 0.5-0.6 s with Arrow's system pool.  Only where
    the memory comes from changes, never a value.  ``NUMPY_MADVISE_HUGEPAGE`` and ``ARROW_DEFAULT_MEMORY_POOL``
    are honoured when set; a library a stage has not imported is left alone.
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None and "NUMPY_MADVISE_HUGEPAGE" not in os.environ:
        setter = getattr(getattr(getattr(numpy, "_core", None), "multiarray", None), "_set_madvise_hugepage", None)
        if setter is not None:
            setter(False)
    pyarrow = sys.modules.get("pyarrow")
    if pyarrow is not None and "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
        pyarrow.set_memory_pool(pyarrow.system_memory_pool())


RETAINED_BYTES = 1 << 30  # glibc malloc's mmap and trim thresholds for a stage that keeps its freed memory


def keep_freed_memory() -> bool:
    """Let glibc's malloc reuse the memory a stage frees instead of handing it back to the kernel.

    By default glibc maps every allocation above 32 MB from the kernel and unmaps it when freed, and returns the
    heap's free top beyond 128 KB: each column of twenty years of bars (58 MB) is then a fresh mapping that the
    kernel zeroes page by page at first touch, over and over.  With both thresholds at :data:`RETAINED_BYTES` the
    process reuses what it freed: ``bars`` on the 20-year FirstRate file spent 1.2 s in the kernel instead of
    4.7-5.3 s (2 interleaved runs each, same outputs), for 50-70 MB more peak RSS.  Only where memory comes from
    changes, never a value.  Returns whether it was applied: glibc on Linux only, and not when the environment
    already sets malloc's thresholds (``MALLOC_*_THRESHOLD_`` or ``GLIBC_TUNABLES``).
    """
    if not sys.platform.startswith("linux") or "glibc.malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or "MALLOC_TRIM_THRESHOLD_" in os.environ:
        return False
    import ctypes  # imported here: only the stages that call this need it

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)  # glibc's (musl's accepts and ignores it)
    if mallopt is None:
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # <malloc.h>
    return bool(mallopt(m_trim_threshold, RETAINED_BYTES)) and bool(mallopt(m_mmap_threshold, RETAINED_BYTES))


def imports_done() -> None:
    """Freeze the objects a stage's imports created and switch cyclic garbage collection back on.

    Every stage script calls ``gc.disable()`` before its imports and this after them.  Importing pandas, pyarrow
    and the params schema (and scikit-learn and LightGBM in ``train``) creates 75,000-140,000 objects (modules,
    classes, functions) that live to the end; with collection on, their allocations trigger hundreds of
    collections that free about 1 % of them: 0.1-0.15 s of a stage's start, 0.25 s of ``train``'s (measured
    with ``gc.callbacks`` and interleaved runs).  Frozen (``gc.freeze``), they are skipped by later collections,
    and by forked workers', which then do not touch (copy) their pages.  Nothing a stage computes depends on
    when collection runs.
    """
    gc.freeze()
    gc.enable()


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's ``main``; a user error (bad params, bad data, too few days) exits 1 with its message only.

    On any failure the metrics named by ``--invalidates`` (those of the later stages) are removed first.
    """
    _small_pages_for_arrays()
    try:
        main()
    except USER_ERRORS as err:
        _remove_stale(sys.argv[1:])
        sys.exit(f"error: {err}")
    except (Exception, KeyboardInterrupt):
        _remove_stale(sys.argv[1:])
        raise
