"""The experiments table as people read it: the ML Lab's rows (:func:`display`) and ``almanac exps`` in a terminal
(:func:`text_table`).

:func:`almanac.experiments.experiments` gives one row per run (params, metrics, the DSR over the runs tried); this
module picks, formats, sorts and fits its columns.  Columns are chosen by name (:data:`COLUMN_NAMES`).  In a
terminal the default set fits the width (120 columns unless told): the ``changed`` column (the params that differ
from the baseline) is cut to what is left, with an ellipsis, and when even that leaves it fewer than
:data:`MIN_CHANGED` characters the lowest-priority columns go first (:data:`DROP_FIRST`).

Nothing here imports numpy or pandas at import time, so the ``almanac`` command can list the column names in its
help without loading them.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import textwrap
from collections.abc import Callable


def _float(value) -> float | None:
    """``value`` as a float, None when it is missing (None, NaN, NA) or not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _num(value, digits: int) -> str:
    number = _float(value)
    return "n/a" if number is None else f"{number:.{digits}f}"


def _with_ci(value, low, high, digits: int, ci_digits: int) -> str:
    """``0.610 [0.58, 0.64]``: the value, then its CI to fewer digits (the bounds are noisier than the value)."""
    if _float(value) is None:
        return "n/a"
    if _float(low) is None or _float(high) is None:
        return _num(value, digits)
    return f"{_num(value, digits)} [{_num(low, ci_digits)}, {_num(high, ci_digits)}]"


def _count(value) -> str:
    number = _float(value)
    return "n/a" if number is None else str(int(number))


@dataclasses.dataclass(frozen=True)
class Column:
    """One column of the table: its header, how a row (a namedtuple of the experiments table) reads in it, the
    table column it sorts by and which way is best first (``descending`` for scores, ``ascending`` for losses and
    text)."""

    header: str
    cell: Callable[[object], str]
    field: str
    order: str  # "descending" or "ascending": best first under --sort
    numeric: bool = True


COLUMNS: dict[str, Column] = {
    "name": Column("name", lambda r: str(r.name), "name", "ascending", numeric=False),
    "rev": Column("rev", lambda r: r.rev or "-", "rev", "ascending", numeric=False),
    "kind": Column("kind", lambda r: str(r.kind), "kind", "ascending", numeric=False),
    "state": Column("state", lambda r: str(r.state), "state", "ascending", numeric=False),
    "model": Column("model", lambda r: r.model or "n/a", "model", "ascending", numeric=False),
    "target": Column("target", lambda r: r.target or "n/a", "target", "ascending", numeric=False),
    "auc": Column("AUC [95% CI]", lambda r: _with_ci(r.auc, r.auc_ci_low, r.auc_ci_high, 3, 2), "auc", "descending"),
    "brier": Column("Brier", lambda r: _num(r.brier, 4), "brier", "ascending"),
    "oracle_efficiency": Column(
        "oracle eff", lambda r: _num(r.oracle_efficiency, 2), "oracle_efficiency", "descending"
    ),  # fmt: skip
    "sharpe": Column(
        "Sharpe [95% CI]", lambda r: _with_ci(r.sharpe, r.sharpe_ci_low, r.sharpe_ci_high, 2, 1), "sharpe", "descending"
    ),  # fmt: skip
    "trades": Column("trades", lambda r: _count(r.trades), "trades", "descending"),
    "dsr": Column("DSR", lambda r: _num(r.dsr_trials, 3), "dsr_trials", "descending"),
    "trials": Column("trials", lambda r: f"{_count(r.n_trials)} of {_count(r.n_runs)}", "n_trials", "descending"),
    "changed": Column("changed", lambda r: r.changed or "-", "changed", "ascending", numeric=False),
}
COLUMN_NAMES = tuple(COLUMNS)
LAB = ("name", "kind", "state", "auc", "brier", "oracle_efficiency", "sharpe", "trades", "dsr", "changed")
""":func:`display`'s default: the ML Lab's table (``state`` is its column 2, which the Lab colours)."""
TERMINAL = ("name", "state", "auc", "brier", "oracle_efficiency", "sharpe", "trades", "dsr", "changed")
"""``almanac exps``'s default columns."""
DROP_FIRST = ("oracle_efficiency", "brier", "trades", "state")  # when the default set is still too wide
MIN_CHANGED = 24  # the changed column keeps at least this many characters before a default column is dropped
WIDTH = 120
ELLIPSIS = "…"
SEPARATOR = "  "


def parse_columns(text: str) -> list[str]:
    """``"name,auc,sharpe"`` -> ``["name", "auc", "sharpe"]``; :class:`ValueError` naming an unknown column, the
    closest name and the valid ones."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError(f"no column named; choose from {', '.join(COLUMN_NAMES)}")
    for name in names:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMN_NAMES, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ValueError(f"unknown column {name!r}{hint}; choose from {', '.join(COLUMN_NAMES)}")
    return names


def _shown(table, sort: str | None, reverse: bool):
    """The rows people read (``shown``), sorted by the column ``sort`` best first (``reverse``: the other way);
    missing values last either way, ties in table order."""
    import pandas as pd

    shown = table.loc[table["shown"].astype(bool)]
    if sort is None:
        return shown
    column = COLUMNS[sort]
    raw = shown[column.field]
    key = pd.to_numeric(raw, errors="coerce") if column.numeric else raw.astype("string").fillna("")
    ascending = (column.order == "ascending") != reverse
    order = key.sort_values(ascending=ascending, na_position="last", kind="stable").index
    return shown.loc[order]


def _trials(shown) -> tuple[int, int] | None:
    """``(trials, runs)`` when every shown run with a backtest is deflated over one selection, else None."""
    import pandas as pd

    ran = pd.to_numeric(shown["sharpe"], errors="coerce").notna()
    counts = shown.loc[ran, ["n_trials", "n_runs"]].apply(pd.to_numeric, errors="coerce").dropna().drop_duplicates()
    if len(counts) != 1:
        return None
    trials, runs = (int(v) for v in counts.iloc[0])
    return trials, runs


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def display(
    table, columns: tuple[str, ...] | list[str] = LAB, *, sort: str | None = None, reverse: bool = False
) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the experiments table (:func:`almanac.experiments.experiments`) as people read it: the
    workspace, the checked-out commit and every experiment (older commits count as trials but are not listed), in
    ``columns`` (names of :data:`COLUMNS`; the default, :data:`LAB`, is the ML Lab's table with ``state`` at index
    2), sorted by the column ``sort`` best first when given (``reverse`` flips it), n/a where a metric does not
    exist.  The DSR's header says over how many trials of how many runs it is deflated.  ``table`` is not
    mutated."""
    shown = _shown(table, sort, reverse)
    rows = [[COLUMNS[name].cell(r) for name in columns] for r in shown.itertuples()]
    counts = _trials(shown)
    dsr = (
        f"DSR ({_plural(counts[0], 'trial')} of {_plural(counts[1], 'run')})"
        if counts
        else "DSR (trials on the same data)"
    )
    header = [dsr if name == "dsr" else COLUMNS[name].header for name in columns]
    return header, rows


def _fit(header: list[str], rows: list[list[str]], columns: list[str], width: int, *, drop: bool):
    """Cut the ``changed`` column to what ``width`` leaves it (with an ellipsis); with ``drop``, first drop the
    columns of :data:`DROP_FIRST` while that would leave it fewer than :data:`MIN_CHANGED` characters."""

    def widths(cols):
        return {c: max(len(x) for x in [header[columns.index(c)], *(r[columns.index(c)] for r in rows)]) for c in cols}

    kept = list(columns)
    while True:
        fixed = widths([c for c in kept if c != "changed"])
        room = width - sum(fixed.values()) - len(SEPARATOR) * (len(kept) - 1)
        droppable = [c for c in DROP_FIRST if c in kept]
        if "changed" not in kept or room >= MIN_CHANGED or not drop or not droppable:
            break
        kept.remove(droppable[0])
    index = [columns.index(c) for c in kept]
    header = [header[i] for i in index]
    rows = [[r[i] for i in index] for r in rows]
    if "changed" in kept:
        at, room = kept.index("changed"), max(room, len("changed"))
        rows = [[_cut(x, room) if i == at else x for i, x in enumerate(r)] for r in rows]
    return header, rows


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + ELLIPSIS


def text_table(
    table,
    *,
    columns: list[str] | None = None,
    sort: str | None = None,
    reverse: bool = False,
    width: int = WIDTH,
    all_columns: bool = False,
) -> str:
    """The experiments table for a terminal, in aligned columns, with the note on the DSR under it.

    Parameters
    ----------
    table
        :func:`almanac.experiments.experiments`' table (not mutated).
    columns
        Names of :data:`COLUMNS` in the order wanted; default :data:`TERMINAL`, fitted to ``width`` (lowest
        priority columns dropped, :data:`DROP_FIRST`, while ``changed`` would get fewer than :data:`MIN_CHANGED`
        characters).  Chosen columns are never dropped.
    sort
        A column name: rows best first (descending for ``auc``, ``oracle_efficiency``, ``sharpe``, ``dsr``,
        ``trades``, ``trials``; ascending for ``brier`` and the text columns); missing values last.
    reverse
        The other way round.
    width
        Characters per line: ``changed`` is cut to what the other columns leave, with an ellipsis, and the note is
        wrapped to it (a line is longer only when the other columns alone are wider).
    all_columns
        Every column of :data:`COLUMNS`, nothing cut (``width`` only wraps the note).
    """
    from almanac.experiments import TRIALS_NOTE

    names = list(COLUMN_NAMES if all_columns else columns or TERMINAL)
    header, rows = display(table, names, sort=sort, reverse=reverse)
    shown = _shown(table, None, False)
    counts = _trials(shown)
    if "dsr" in names:  # the header says "DSR"; how many trials goes under the table
        header[names.index("dsr")] = "DSR"
    if not all_columns:
        header, rows = _fit(header, rows, names, width, drop=columns is None)
    widths = [max(len(x) for x in column) for column in zip(header, *rows, strict=True)]
    lines = [SEPARATOR.join(x.ljust(w) for x, w in zip(row, widths, strict=True)).rstrip() for row in [header, *rows]]
    text = "\n".join(lines) + "\n"
    if "dsr" not in names:
        return text
    over = f"DSR: {_plural(counts[0], 'trial')} of {_plural(counts[1], 'run')}." if counts else (
        "DSR: each run over the trials on its own data and target.")  # fmt: skip
    note = textwrap.fill(f"{over} {TRIALS_NOTE}", width=width, break_long_words=False, break_on_hyphens=False)
    return text + "\n" + note + "\n"


GROUPED = ("name", "state", "auc", "sharpe", "dsr", "changed")  # the columns under each group's header


def _spread(values, digits: int) -> str:
    """``1.20 ± 0.30 (0.90 to 1.50)``: mean ± sample sd, then the range."""
    import statistics

    mean, sd = statistics.fmean(values), statistics.stdev(values)
    return f"{mean:.{digits}f} ± {sd:.{digits}f} ({min(values):.{digits}f} to {max(values):.{digits}f})"


def _over_seeds(group, best, key: str) -> str:
    """The held-out line of a group: Sharpe and AUC over the runs that differ from ``best`` only in
    ``synthetic.seed`` (one per seed: a re-run of a seed counts once), or why there is none."""
    if key == "synthetic.seed":
        return ""
    others = {k: v for k, v in best.params.items() if k != "synthetic.seed"}
    same = {}
    for r in group.itertuples():
        params = r.params if isinstance(r.params, dict) else {}
        if {k: v for k, v in params.items() if k != "synthetic.seed"} == others and _float(r.sharpe) is not None:
            same.setdefault(params.get("synthetic.seed"), r)
    if len(same) < 2:
        return "  held out: one seed (sweep -S synthetic.seed=... for the spread over seeds)"
    runs = list(same.values())
    sharpe = _spread([_float(r.sharpe) for r in runs], 2)
    aucs = [_float(r.auc) for r in runs if _float(r.auc) is not None]
    auc = f", AUC {_spread(aucs, 3)}" if len(aucs) >= 2 else ""
    seeds = ", ".join(str(s) for s in same)
    return f"  held out over {len(runs)} seeds of the best run's settings ({seeds}):\n    Sharpe {sharpe}{auc}"


def grouped_text(table, key: str, *, width: int = WIDTH, pnl: dict | None = None) -> str:
    """``almanac exps --by KEY``: the experiments table in groups of equal ``key`` (any flat params key,
    ``data.symbol``, ``synthetic.seed``, ``train.model``), each under a header with the key's value, the number of
    runs, the best run by Sharpe and its DSR deflated over the trials within the group only
    (:func:`almanac.experiments.deflate_within`), then the held-out distribution over seeds: Sharpe and AUC
    (mean ± sd, min to max) of the runs that differ from the best one only in ``synthetic.seed``.  The rows listed
    are the shown ones (the workspace, the checked-out commit, the experiments), their DSR the group's; every run
    of the repository counts.  ``ValueError`` naming the closest key when no run has ``key``.  ``table`` is not
    mutated."""
    from almanac.experiments import SAME_TRIAL_CORRELATION, deflate_within, trial_mask

    keys = sorted({k for params in table["params"] if isinstance(params, dict) for k in params})
    if key not in keys:
        close = difflib.get_close_matches(key, keys, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ValueError(f"no run has the params key {key!r}{hint}")
    table = deflate_within(table, key, pnl)
    _, trial = trial_mask(table)
    table = table.assign(dsr_trials=table["dsr_group"], n_trials=table["group_trials"], n_runs=table["group_runs"])
    blocks = []
    for value, group in table.groupby("group", sort=False):
        head = f"{key}={value}: {_plural(len(group), 'run')}"
        candidates = group.loc[trial[group.index]]
        if len(candidates):
            best = next(candidates.loc[[candidates["sharpe"].astype(float).idxmax()]].itertuples())
            trials = int(best.group_trials)
            head += (
                f"; best by Sharpe: {best.name} (Sharpe {_num(best.sharpe, 2)}, DSR {_num(best.dsr_group, 2)} over "
                f"{_plural(trials, 'trial')} of {_plural(int(best.group_runs), 'run')} in the group)"
            )
            seeds = _over_seeds(group, best, key)
        else:
            head, seeds = head + "; no run with a backtest to select", ""
        lines = [head] + ([seeds] if seeds else [])
        if group["shown"].astype(bool).any():
            header, rows = display(group, list(GROUPED))
            header[GROUPED.index("dsr")] = "DSR"
            header, rows = _fit(header, rows, list(GROUPED), width - 2, drop=False)
            widths = [max(len(x) for x in column) for column in zip(header, *rows, strict=True)]
            lines += [
                ("  " + SEPARATOR.join(x.ljust(w) for x, w in zip(row, widths, strict=True))).rstrip()
                for row in [header, *rows]
            ]
        blocks.append("\n".join(lines) + "\n")
    note = (
        f"DSR: each run over the trials of its group only (the runs of the repository with the same {key}, whatever "
        "else differs), degenerate and baseline backtests left out; runs whose daily P&L correlate at "
        f"{SAME_TRIAL_CORRELATION} or more count as one trial."
    )
    return "\n".join(blocks) + "\n" + textwrap.fill(note, width=width, break_long_words=False) + "\n"
