"""almanac.paths: PipelineFiles declares exactly the output paths of dvc.yaml, and the library reads them there."""

from __future__ import annotations

from pathlib import Path

import yaml

from almanac.paths import PipelineFiles

REPO = Path(__file__).resolve().parents[2]
DVC = yaml.safe_load((REPO / "dvc.yaml").read_text())


def _paths(entries) -> list[str]:
    return [next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries or []]


def test_pipeline_files_are_the_outputs_of_dvc_yaml():
    written = [
        path
        for stage in DVC["stages"].values()
        for key in ("outs", "metrics", "plots")
        for path in _paths(stage.get(key))
    ]
    declared = {name: path.as_posix() for name, path in PipelineFiles().outputs().items()}
    assert len(written) == len(set(written)), "a path written by two stages"
    assert sorted(set(declared.values()) - set(written)) == [], "declared by PipelineFiles, written by no stage"
    assert sorted(set(written) - set(declared.values())) == [], "written by a stage, missing from PipelineFiles"
    assert len(set(declared.values())) == len(declared), "two properties of PipelineFiles name the same file"


def test_the_plots_of_dvc_yaml_draw_declared_files():
    declared = {path.as_posix() for path in PipelineFiles().outputs().values()}
    drawn = {path for entry in DVC["plots"] for spec in entry.values() for path in spec["y"]}
    assert drawn and drawn <= declared


def test_the_artifact_is_the_model():
    files = PipelineFiles()
    (artifact,) = DVC["artifacts"].values()
    assert artifact["path"] == files.model.as_posix()
    assert artifact["meta"]["registry"] == files.registry.as_posix()


def test_under_moves_every_folder(tmp_path):
    files = PipelineFiles.under(tmp_path)
    for name, path in files.outputs().items():
        assert path == tmp_path / getattr(PipelineFiles(), name), name


def test_library_readers_take_the_paths_from_pipeline_files():
    from almanac import experiments
    from almanac.ml import predictors
    from almanac.pages import lab_state

    files = PipelineFiles()
    assert predictors.PipelineFiles is PipelineFiles  # re-exported for `from almanac.ml.predictors import ...`
    assert files.equity.as_posix() == experiments.EQUITY
    assert {name: getattr(files, name).as_posix() for name in lab_state.PLOTS} == lab_state.PLOTS
