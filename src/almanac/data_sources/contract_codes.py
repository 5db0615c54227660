"""Contract codes as vendors write them -> the canonical code of ``data.symbol`` (root, month, two-digit year).

Vendors write ``ESH4``, ``ESH24``, ``ESH2024`` (in a contract column only) or NinjaTrader's ``ES 03-24``; a file
without a contract column may name its contract in its file name.  These functions decide and refuse; the
caller (:func:`~almanac.data_sources.files.build_file_dataset`) drops and counts: calendar spreads
(:func:`spread_rows`) and listed months outside the instrument's cycle (:func:`off_cycle_rows`).  A code of another
market, or one that is not an outright contract of the symbol, is an error naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from almanac.config import DataParams
from almanac.data_sources.contracts import contract_code, parse_contract
from almanac.errors import BarsError
from almanac.instruments import Instrument

_FILENAME_CODE = re.compile(r"(?<![A-Z])([A-Z]{1,3})([FGHJKMNQUVXZ])(\d{1,2})(?!\d)")
_NINJA_CODE = re.compile(r"([A-Z]{1,3}) (\d{2})-(\d{2})")
_FULL_YEAR_CODE = re.compile(r"([A-Z]{1,3})([FGHJKMNQUVXZ])(\d{4})")  # ESH2024 (in a contract column only)


def normalize_contract(code: str | None, year_hint: int) -> str | None:
    """Contract code with a two-digit year (``ESH4`` in 2023 -> ``ESH24``; ``ES 03-24`` -> ``ESH24``); None when
    it is not an outright code of a known instrument in one of that instrument's contract months (``ESX24``)."""
    if code is None or code != code:
        return None
    code = code.strip().upper()
    ninja = _NINJA_CODE.fullmatch(code)
    if ninja:
        root, month, yy = ninja.groups()
        try:
            return contract_code(root, 2000 + int(yy), int(month))
        except KeyError:  # an unknown root, or a month the instrument does not trade
            return None
    match = _FILENAME_CODE.fullmatch(code) or _FULL_YEAR_CODE.fullmatch(code)
    if not match:
        return None
    root, month_code, digits = match.groups()
    if len(digits) == 4:  # ESH2024
        out = f"{root}{month_code}{digits[2:]}"
    elif len(digits) == 2:
        out = f"{root}{month_code}{digits}"
    else:
        year = year_hint - year_hint % 10 + int(digits)
        if year < year_hint - 1:
            year += 10  # ESH0 traded in late 2019 is the 2020 contract
        out = f"{root}{month_code}{year % 100:02d}"
    try:
        parse_contract(out)
    except ValueError:
        return None
    return out


def repeated_code(value: str | None, n: int) -> pd.Categorical:
    """``value`` repeated ``n`` times as a categorical (missing when None): no ``n`` string copies."""
    if value is None:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=[])
    return pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[value])


def contract_from_filename(path: Path) -> str | None:
    """The contract code in a file's name (``ESH24_1min.csv``, ``ES 03-24.Last.txt``), upper-cased; or None."""
    stem = path.name.upper()
    for pattern in (_NINJA_CODE, _FILENAME_CODE):
        found = pattern.search(stem)
        if found:
            return found.group(0)
    return None


def spread_rows(contracts: pd.Series) -> np.ndarray:
    """Rows of calendar spreads (``ESH4-ESM4``, ``ESH4:ESM4``), whose prices are differences (negative, off the
    outright tick grid).  NinjaTrader's outright codes (``ES 03-24``) also contain a dash and are not spreads.
    A categorical column is judged on its few categories, then broadcast by its codes (missing: not a spread)."""
    if isinstance(contracts.dtype, pd.CategoricalDtype):
        # The string methods on a categorical column build a text copy of every row (1 s on twenty years of bars)
        # for an answer that depends on the category alone.
        per_category = _spread_codes(pd.Series(contracts.cat.categories, dtype="str"))
        return np.isin(contracts.cat.codes.to_numpy(), np.flatnonzero(per_category))
    return _spread_codes(contracts)


def _spread_codes(contracts: pd.Series) -> np.ndarray:
    spread = (
        contracts.str.contains("-", regex=False, na=False) | contracts.str.contains(":", regex=False, na=False)
    ) & ~contracts.str.strip().str.upper().str.fullmatch(_NINJA_CODE.pattern, na=False)
    return spread.to_numpy()


def normalized_codes(contracts: pd.Series, years: np.ndarray) -> pd.Categorical:
    """:func:`normalize_contract` of every row's code, ``years`` (each bar's year) the hint for one-digit years;
    missing where there is no code or it is not an outright code of a known instrument."""
    # Normalise each distinct (code, year) once, then broadcast: no Python loop over bars.
    codes, uniques = pd.factorize(contracts, use_na_sentinel=True)
    pair = codes.astype(np.int64) * 10_000 + years
    distinct, inverse = np.unique(pair, return_inverse=True)
    names = np.array(
        [normalize_contract(uniques[p // 10_000], int(p % 10_000)) if p // 10_000 >= 0 else None for p in distinct],
        dtype=object,
    )
    labels, positions = pd.factorize(names, use_na_sentinel=True)  # distinct normalised codes (None -> -1)
    return pd.Categorical.from_codes(labels[inverse], categories=list(positions))


def refuse_unknown_codes(bars: pd.DataFrame, raw_codes: pd.Series, *, source: DataParams, spec: Instrument) -> None:
    """Contract codes given but not read as a contract of the symbol are an error naming them, never dropped into
    a "continuous" series: a wrong code on every row (``NQX3`` for a quarterly product, ``garbage``) would otherwise
    make a file of several contracts look like one spliced series."""
    unread = (raw_codes.notna() & bars["contract"].isna()).to_numpy()
    if not unread.any():
        return
    values = raw_codes[unread].astype(str).value_counts()
    first = bars.loc[unread].iloc[0]
    seen = ", ".join(f"{v!r} ({n:,} row{'s' if n != 1 else ''})" for v, n in values.head(5).items())
    example = contract_code(source.symbol, 2024, spec.month_numbers[0])
    raise BarsError(
        f"{first['file']}, line {first['line']}, column contract: {seen}{' and more' if len(values) > 5 else ''} "
        f"{'is' if len(values) == 1 else 'are'} not an outright {source.symbol} contract code; expected the root, a "
        f"month of {spec.listed_months or spec.months} and the year, like {example}, {example[:-2]}{example[-1]}, "
        f"{example[:-2]}20{example[-2:]} or '{source.symbol} {spec.month_numbers[0]:02d}-24'; fix the codes or check "
        "data.symbol"
    )


def refuse_other_markets(bars: pd.DataFrame, symbol: str) -> None:
    """Refuse normalised codes of another instrument than ``symbol``, naming the first row's file and line."""
    # Normalised codes are root + month + two-digit year: the root is all but the last three characters.
    roots = pd.Series(bars["contract"].cat.categories, dtype="str").str[:-3]
    foreign_codes = np.flatnonzero((roots != symbol).to_numpy())
    foreign = np.isin(bars["contract"].cat.codes.to_numpy(), foreign_codes)
    if foreign.any():
        bad = bars.loc[foreign].iloc[0]
        raise BarsError(
            f"{bad['file']}, line {bad['line']}, column contract: {bad['contract']} is not a {symbol} contract; "
            "check data.symbol or remove the other market's rows"
        )


def refuse_missing_codes(bars: pd.DataFrame, source: DataParams, spec: Instrument) -> None:
    """Refuse rows without a (normalised) code among rows with one: every row needs its contract."""
    if bars["contract"].isna().any():
        bad = bars.loc[bars["contract"].isna()].iloc[0]
        raise BarsError(
            f"{bad['file']}, line {bad['line']}, column contract: not an outright {source.symbol} contract code (its "
            f"months: {spec.listed_months or spec.months}, e.g. {contract_code(source.symbol, 2024, spec.month_numbers[0])}); remove the "
            "row or fix the symbol"
        )


def off_cycle_rows(contracts: pd.Series, spec: Instrument) -> np.ndarray:
    """Rows of listed months outside the instrument's cycle (gold's serial months in a whole-product download):
    the continuous series never rolls into them.  ``contracts``: normalised codes, categorical."""
    cycle = pd.Series(contracts.cat.categories, dtype="str").str[-3].isin(list(spec.months)).to_numpy()
    return np.isin(contracts.cat.codes.to_numpy(), np.flatnonzero(~cycle))
