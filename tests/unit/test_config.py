"""Typed, validated parameters: the repository's params.yaml, defaults, and every error path."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pydantic
import pytest
import yaml

from almanac.config import (
    DataParams,
    Params,
    ParamsError,
    SyntheticParams,
    dotted_keys,
    get_dotted,
    load_params,
    params_from_dict,
    parse_cutoff,
)

REPO_PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    return path


def error_of(raw) -> str:
    """The ParamsError message for a parsed mapping (fails the test if validation passes)."""
    with pytest.raises(ParamsError) as info:
        params_from_dict(raw)
    return str(info.value)


# --- the repository's params.yaml ---------------------------------------------------------------------


def test_repository_params_yaml_loads():
    params = load_params(REPO_PARAMS)
    assert params.data.symbol == "ES"
    assert params.data.source == "synthetic"
    assert isinstance(params.data.start, dt.date)
    assert params.data.start <= params.data.end
    assert 0 <= params.synthetic.rho <= 1
    assert dt.time(9, 31) <= parse_cutoff(params.features.cutoff) <= dt.time(15, 59)


def test_repository_params_yaml_values_reach_the_dataclasses():
    raw = yaml.safe_load(REPO_PARAMS.read_text())
    params = load_params(REPO_PARAMS)

    def leaves(mapping, prefix=""):
        for key, value in mapping.items():
            if isinstance(value, dict):
                yield from leaves(value, f"{prefix}{key}.")
            else:
                yield f"{prefix}{key}", value

    pairs = list(leaves(raw))
    assert pairs, "params.yaml has no keys"
    for key, value in pairs:
        loaded = get_dotted(params, key)
        expected = dt.date.fromisoformat(value) if isinstance(loaded, dt.date) and isinstance(value, str) else value
        assert loaded == expected, key


# --- defaults ---------------------------------------------------------------------------------------


def test_empty_mapping_gives_defaults():
    params = params_from_dict({})
    assert params == Params()
    assert params.data == DataParams(
        symbol="ES", start=dt.date(2016, 1, 1), end=dt.date(2024, 12, 31), source="synthetic"
    )
    assert params.synthetic == SyntheticParams(seed=20161, kappa=0.3, rho=0.8, daily_vol_pct=1.1, start_price=None)
    assert params.features.cutoff == "10:15"


def test_none_gives_defaults():
    assert params_from_dict(None) == Params()


def test_empty_file_gives_defaults(tmp_path):
    assert load_params(write(tmp_path, "# nothing set\n")) == Params()


def test_empty_section_gives_section_defaults(tmp_path):
    params = load_params(write(tmp_path, "data:\nsynthetic:\n  kappa: 0.0\n"))
    assert params.data == DataParams()
    assert params.synthetic.kappa == 0.0


def test_missing_keys_keep_their_defaults():
    params = params_from_dict({"synthetic": {"kappa": 0.5}})
    assert params.synthetic.kappa == 0.5
    assert params.synthetic.seed == 20161
    assert params.synthetic.rho == 0.8


def test_params_are_frozen():
    params = params_from_dict({})
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        params.synthetic.kappa = 1.0  # type: ignore[misc]


def test_default_params_pass_their_own_validation():
    assert params_from_dict(Params().model_dump()) == Params()


def test_dotted_keys_cover_every_leaf_and_resolve():
    keys = dotted_keys()
    assert {"data.symbol", "data.start", "synthetic.kappa", "features.cutoff"} <= set(keys)
    assert len(keys) == len(set(keys))
    assert get_dotted(Params(), "synthetic.seed") == 20161


# --- unknown keys and sections ------------------------------------------------------------------------


def test_unknown_key_is_named_with_a_suggestion():
    message = error_of({"data": {"sybmol": "ES"}})
    assert "data.sybmol" in message
    assert "did you mean 'symbol'" in message
    assert "symbol, start, end, source" in message


def test_unknown_key_without_close_match_lists_allowed_keys():
    message = error_of({"synthetic": {"volatility_regime": 2}})
    assert "synthetic.volatility_regime" in message
    assert "did you mean" not in message
    assert "seed, kappa, rho, daily_vol_pct, start_price" in message


def test_unknown_section_is_named_with_a_suggestion():
    message = error_of({"datta": {"symbol": "ES"}})
    assert message.startswith("datta: unknown section")
    assert "did you mean 'data'" in message
    assert "data, synthetic, features" in message


def test_unknown_nested_key_gets_the_full_dotted_name():
    message = error_of({"train": {"lightgbm": {"num_leavs": 15}}})
    assert "train.lightgbm.num_leavs" in message
    assert "did you mean 'num_leaves'" in message


def test_section_that_is_not_a_mapping_fails():
    message = error_of({"data": ["ES", "2016-01-01"]})
    assert message == "data: expected a mapping of keys, got list"


# --- types ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("synthetic", "seed", "abc", "expected int"),
        ("synthetic", "seed", 1.5, "expected int"),
        ("synthetic", "seed", True, "expected int"),  # bool is an int subclass in Python; not here
        ("synthetic", "kappa", "x", "expected float"),
        ("synthetic", "kappa", False, "expected float"),
        ("data", "columns", 5, "expected str"),
        ("features", "early_session", 1, "expected bool"),
        ("features", "atr_days", True, "expected int"),
    ],
)
def test_wrong_type_names_key_and_expected_type(section, key, value, expected):
    message = error_of({section: {key: value}})
    assert message.startswith(f"{section}.{key}: {value!r}")
    assert expected in message


def test_int_is_accepted_for_a_float_and_converted():
    params = params_from_dict({"synthetic": {"kappa": 1, "start_price": 3000}})
    assert params.synthetic.kappa == 1.0
    assert isinstance(params.synthetic.kappa, float)
    assert isinstance(params.synthetic.start_price, float)


def test_wrong_type_from_a_file_names_file_and_key(tmp_path):
    path = write(tmp_path, "synthetic:\n  seed: abc\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert str(info.value) == f"{path}: synthetic.seed: 'abc' has type str, expected int"


# --- dates ------------------------------------------------------------------------------------------


def test_dates_as_yaml_dates(tmp_path):
    params = load_params(write(tmp_path, "data:\n  start: 2018-02-01\n  end: 2019-03-04\n"))
    assert params.data.start == dt.date(2018, 2, 1)
    assert params.data.end == dt.date(2019, 3, 4)


def test_dates_as_quoted_strings(tmp_path):
    params = load_params(write(tmp_path, "data:\n  start: '2018-02-01'\n  end: \"2019-03-04\"\n"))
    assert params.data.start == dt.date(2018, 2, 1)
    assert params.data.end == dt.date(2019, 3, 4)


def test_yaml_datetime_keeps_its_date(tmp_path):
    params = load_params(write(tmp_path, "data:\n  start: 2018-02-01 09:30:00\n"))
    assert params.data.start == dt.date(2018, 2, 1)


@pytest.mark.parametrize("value", ["yesterday", "2016-13-01", "01/02/2016", 2016])
def test_bad_date_names_key_and_format(value):
    message = error_of({"data": {"start": value}})
    assert message.startswith("data.start:")
    assert "YYYY-MM-DD" in message


def test_end_before_start_fails():
    message = error_of({"data": {"start": "2020-01-02", "end": "2020-01-01"}})
    assert message.startswith("data.end: 2020-01-01 is before data.start 2020-01-02")


def test_end_equal_to_start_is_allowed():
    params = params_from_dict({"data": {"start": "2020-01-02", "end": "2020-01-02"}})
    assert params.data.start == params.data.end == dt.date(2020, 1, 2)


# --- ranges and allowed values ----------------------------------------------------------------------


def test_negative_kappa_fails():
    message = error_of({"synthetic": {"kappa": -0.1}})
    assert message.startswith("synthetic.kappa: -0.1 must be >= 0")


def test_zero_kappa_is_a_martingale_and_allowed():
    assert params_from_dict({"synthetic": {"kappa": 0}}).synthetic.kappa == 0.0


def test_nan_kappa_fails():
    message = error_of({"synthetic": {"kappa": math.nan}})
    assert message.startswith("synthetic.kappa:")


@pytest.mark.parametrize("rho", [-0.01, 1.01, math.nan])
def test_rho_outside_unit_interval_fails(rho):
    message = error_of({"synthetic": {"rho": rho}})
    assert message.startswith("synthetic.rho:")
    assert ("finite number" if math.isnan(rho) else "between 0 and 1") in message


@pytest.mark.parametrize("rho", [0, 1])
def test_rho_bounds_are_allowed(rho):
    assert params_from_dict({"synthetic": {"rho": rho}}).synthetic.rho == float(rho)


@pytest.mark.parametrize("seed", [-1, 2**63])
def test_seed_out_of_range_fails(seed):
    message = error_of({"synthetic": {"seed": seed}})
    assert message == f"synthetic.seed: {seed} must be >= 0 and < {2**63}"


@pytest.mark.parametrize(("key", "value"), [("daily_vol_pct", 0.01), ("daily_vol_pct", 11), ("start_price", 10)])
def test_synthetic_market_ranges(key, value):
    assert error_of({"synthetic": {key: value}}).startswith(f"synthetic.{key}: {value}")


def test_unknown_source_lists_synthetic():
    message = error_of({"data": {"source": "databento"}})
    assert message.startswith("data.source: 'databento' is not allowed")
    assert "allowed values: synthetic" in message


def test_misspelt_source_gets_a_suggestion():
    assert "did you mean 'synthetic'" in error_of({"data": {"source": "synthetc"}})


def test_unknown_symbol_lists_the_modelled_instruments():
    message = error_of({"data": {"symbol": "NQQ"}})
    assert message == (
        "data.symbol: 'NQQ' is not allowed (did you mean 'NQ'?); allowed values: ES, MES, NQ, MNQ, RTY, YM, CL, GC, ZN"
    )


def test_symbol_in_the_table_whose_sessions_are_not_modelled_says_so(monkeypatch):
    from almanac import instruments

    rows = dict(instruments.table())
    rows["CL"] = rows["CL"].model_copy(update={"sessions": "not modelled"})
    monkeypatch.setattr(instruments, "table", lambda: rows)
    message = error_of({"data": {"symbol": "CL", "source": "files", "paths": "data/raw/CL.csv"}})
    assert message == (
        "data.symbol: 'CL' (WTI crude oil, NYMEX) is in the instrument table but its sessions are not modelled yet "
        "(RTH 09:00-14:30 ET); allowed values: ES, MES, NQ, MNQ, RTY, YM, GC, ZN"
    )


@pytest.mark.parametrize(("symbol", "cutoff"), [("CL", "09:01"), ("CL", "14:29"), ("GC", "08:21"), ("ZN", "14:59")])
def test_cutoff_inside_the_instruments_own_rth_is_accepted(symbol, cutoff):
    raw = {"data": {"symbol": symbol, "source": "files", "paths": "x.csv"}, "features": {"cutoff": cutoff}}
    assert params_from_dict(raw).features.cutoff == cutoff


@pytest.mark.parametrize(
    ("symbol", "cutoff", "window", "bounds"),
    [("CL", "14:45", "09:00-14:30", "09:01 and 14:29"), ("CL", "09:00", "09:00-14:30", "09:01 and 14:29"),
     ("GC", "13:30", "08:20-13:30", "08:21 and 13:29")],
)  # fmt: skip
def test_cutoff_outside_the_instruments_own_rth_names_the_key(symbol, cutoff, window, bounds):
    raw = {"data": {"symbol": symbol, "source": "files", "paths": "x.csv"}, "features": {"cutoff": cutoff}}
    assert error_of(raw) == (
        f"features.cutoff: {cutoff!r} must fall inside RTH of {symbol} ({window} ET), between {bounds} ET"
    )


def test_synthetic_market_of_another_symbol_needs_a_plausible_start_price():
    assert error_of({"data": {"symbol": "CL"}, "synthetic": {"start_price": 2000.0}}) == (
        "synthetic.start_price: 2000 is not a plausible CL price (-50 to 250); set it for the synthetic CL market, "
        "e.g. -S synthetic.start_price=40, or null for the instrument's own (synthetic_start in instruments.yaml)"
    )
    params = params_from_dict({"data": {"symbol": "CL"}, "synthetic": {"start_price": 70.0}})
    assert (params.data.symbol, params.synthetic.start_price) == ("CL", 70.0)


def test_a_null_start_price_lets_the_symbol_sweep_alone():
    # `-S data.symbol=ES,NQ,CL` with the committed params: every symbol is valid without a price of its own
    for symbol in ("ES", "NQ", "CL"):
        assert params_from_dict({"data": {"symbol": symbol}}).synthetic.start_price is None


def test_a_shell_command_is_not_a_symbol():
    assert error_of({"data": {"symbol": "ES; touch x"}}).startswith("data.symbol: 'ES; touch x' is not allowed")


def test_the_synthetic_market_models_any_symbol_at_its_default_price_when_plausible():
    assert params_from_dict({"data": {"symbol": "NQ"}}).data.symbol == "NQ"  # 2000 is a plausible NQ price
    assert params_from_dict({"data": {"symbol": "NQ", "source": "files", "paths": "x"}}).data.symbol == "NQ"


# --- features.cutoff --------------------------------------------------------------------------------


@pytest.mark.parametrize("cutoff", ["25:00", "9:30", "10:60", "10.15", "1015", ""])
def test_malformed_cutoff_fails(cutoff):
    message = error_of({"features": {"cutoff": cutoff}})
    assert message.startswith(f"features.cutoff: {cutoff!r} must be a time HH:MM")


@pytest.mark.parametrize("cutoff", ["08:00", "09:30", "16:00", "23:59"])
def test_cutoff_outside_rth_fails(cutoff):
    message = error_of({"features": {"cutoff": cutoff}})
    assert message.startswith(f"features.cutoff: {cutoff!r} must fall inside RTH")
    assert "between 09:31 and 15:59 ET" in message


@pytest.mark.parametrize("cutoff", ["09:31", "10:15", "15:59"])
def test_cutoff_inside_rth_is_accepted(cutoff):
    assert params_from_dict({"features": {"cutoff": cutoff}}).features.cutoff == cutoff


def test_parse_cutoff():
    assert parse_cutoff("10:15") == dt.time(10, 15)
    assert parse_cutoff("09:31") == dt.time(9, 31)


@pytest.mark.parametrize("text", ["abc", "10", "25:99", "10:15:00", ""])
def test_parse_cutoff_names_the_form(text):
    with pytest.raises(ValueError, match=r"is not a time HH:MM \(ET, 24-hour\), e.g. '10:15'"):
        parse_cutoff(text)


def test_oracle_cutoff_option_names_the_option_and_the_form(capsys):
    from almanac.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["oracle", "--cutoff", "abc"])
    assert exit_info.value.code == 2
    assert "argument --cutoff: 'abc' is not a time HH:MM (ET, 24-hour), e.g. '10:15'" in capsys.readouterr().err


def test_unquoted_cutoff_loads_as_a_time(tmp_path):
    params = load_params(write(tmp_path, "features:\n  cutoff: 10:15\n"))
    assert params.features.cutoff == "10:15"


@pytest.mark.parametrize(("text", "value"), [("1e-07", 1e-7), ("1E5", 1e5), ("2.5e-3", 0.0025), ("1.0E+2", 100.0)])
def test_scientific_notation_is_a_number(tmp_path, text, value):
    params = load_params(write(tmp_path, f"train:\n  logistic:\n    C: {text}\n"))
    assert value == params.train.logistic.C


def test_dvc_exp_run_set_param_in_scientific_notation(tmp_path):
    """``dvc exp run -S train.logistic.C=1e-7`` writes ``1e-07`` back into params.yaml: it must stay a number."""
    hydra = pytest.importorskip("dvc.utils.hydra")
    path = tmp_path / "params.yaml"
    path.write_text(REPO_PARAMS.read_text())
    hydra.apply_overrides(str(path), ["train.logistic.C=1e-7"])
    assert "1e-07" in path.read_text()
    assert load_params(path).train.logistic.C == 1e-7


def test_params_rewritten_by_dvc_set_param_still_load(tmp_path):
    hydra = pytest.importorskip("dvc.utils.hydra")
    path = tmp_path / "params.yaml"
    path.write_text(REPO_PARAMS.read_text())
    hydra.apply_overrides(str(path), ["synthetic.kappa=0.5"])
    params = load_params(path)
    assert params.synthetic.kappa == 0.5
    assert params.features.cutoff == load_params(REPO_PARAMS).features.cutoff


# --- file-level errors ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["- data\n- synthetic\n", "just a string\n", "42\n"])
def test_non_mapping_file_fails_naming_the_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert str(info.value) == f"{path}: expected a mapping of sections at the top level"


def test_invalid_yaml_fails_naming_the_file(tmp_path):
    path = write(tmp_path, "data:\n  symbol: [ES\n  start: 2016-01-01\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}: not valid YAML")
    assert isinstance(info.value.__cause__, yaml.YAMLError)


def test_validation_error_from_a_file_names_the_file(tmp_path):
    path = write(tmp_path, "data:\n  sybmol: ES\n")
    with pytest.raises(ParamsError) as info:
        load_params(path)
    assert str(info.value).startswith(f"{path}: data.sybmol: unknown key (did you mean 'symbol'?)")


def test_params_error_is_a_value_error():
    assert issubclass(ParamsError, ValueError)


def test_the_docs_document_every_key_as_the_schema_declares_it():
    from almanac.doc_tables import params_table

    docs = (REPO_PARAMS.parent / "docs" / "parameters.md").read_text()
    table = docs.split("<!-- params:start -->\n", 1)[1].split("\n<!-- params:end -->", 1)[0]
    assert table == params_table(), "docs/parameters.md's table is stale: paste `almanac params --markdown` into it"


def test_params_yaml_sets_every_key_of_the_schema():
    raw = yaml.safe_load(REPO_PARAMS.read_text())

    def leaves(mapping, prefix=""):
        for key, value in mapping.items():
            yield from leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else [f"{prefix}{key}"]

    assert sorted(leaves(raw)) == sorted(dotted_keys())


def test_the_oracle_commands_defaults_are_the_schemas(monkeypatch):
    """``almanac oracle`` without options uses ``features.cutoff`` and ``labels.target``'s defaults."""
    from almanac import cli, config

    args = cli.build_parser().parse_args(["oracle"])
    assert args.cutoff == config.DEFAULTS.features.cutoff
    assert args.target == config.DEFAULTS.labels.target
    schema = config.DEFAULTS.model_copy(
        update={"labels": config.DEFAULTS.labels.model_copy(update={"target": "direction"})}
    )
    monkeypatch.setattr(cli, "DEFAULTS", schema)
    assert cli.build_parser().parse_args(["oracle"]).target == "direction"
