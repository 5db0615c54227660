"""The model registry record (the original design's ``model_registry.json``).

No wall-clock times: they would make every rerun differ, and the pipeline's outputs are byte-identical for the
same params and data.  The version is a content hash of model name, params, target and feature set, so the same
experiment always gets the same version and any change gets a new one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import joblib
import pandas as pd

from almanac.errors import ModelIntegrityError


def registry_entry(
    *,
    model: str,
    target: str,
    symbol: str,
    params: dict,
    feature_lineage: dict,
    features: pd.DataFrame,
    metrics: dict,
    model_sha256: str,
) -> dict:
    """``{name: record}`` for a trained model; ``model_sha256`` is the hash of the saved joblib file."""
    feature_set = sorted(features.columns)
    identity = json.dumps(
        {"model": model, "params": params, "target": target, "features": feature_set}, sort_keys=True, default=str
    )
    version = hashlib.sha256(identity.encode()).hexdigest()[:12]
    families = sorted({v["family"] for v in feature_lineage.values()})
    name = f"{symbol.lower()}_{target}_{model}_{version}"
    return {
        name: {
            "model": model,
            "version": version,
            "target": target,
            "params": params,
            "feature_set": "+".join(families),
            "features": feature_set,
            "data_range": f"{features.index.min().date()} to {features.index.max().date()}",
            "cv_score": metrics["cv_auc_mean"],
            "cv_metric": "auc (mean over walk-forward folds)",
            "model_sha256": model_sha256,
        }
    }


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes (streamed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def sidecar_path(model_path: str | Path) -> Path:
    """``model.joblib`` -> ``model.joblib.sha256``: the checksum :meth:`ModelTrainer.save` writes beside a model."""
    return Path(f"{model_path}.sha256")


def recorded_sha256(model_path: str | Path, registry_path: str | Path | None = None) -> str:
    """The sha256 recorded for ``model_path``: in ``registry_path`` (default: ``model_registry.json`` in the
    model's folder, as the ``train`` stage writes it), else in the ``.sha256`` file beside the model.

    Raises :class:`ModelIntegrityError` when nothing records one.
    """
    model_path = Path(model_path)
    registry = Path(registry_path) if registry_path is not None else model_path.parent / "model_registry.json"
    if registry.is_file():
        entries = json.loads(registry.read_text())
        records = [r for r in entries.values() if isinstance(r, dict) and "model_sha256" in r]
        if records:
            return records[-1]["model_sha256"]
    if registry_path is None and sidecar_path(model_path).is_file():
        return sidecar_path(model_path).read_text().split()[0]
    raise ModelIntegrityError(
        f"{model_path}: no sha256 is recorded for this model (looked in {registry} and {sidecar_path(model_path)}); "
        "a model file is a pickle and runs code when loaded, so it is loaded only when its checksum is known. "
        "Retrain it (dvc repro) or pass its sha256"
    )


def load_model(model_path: str | Path, *, registry_path: str | Path | None = None, sha256: str | None = None) -> dict:
    """Unpickle a saved model checkpoint only after checking its sha256 against the recorded one.

    ``sha256`` (when given) is the expected checksum; otherwise :func:`recorded_sha256` finds it.  A mismatch
    raises :class:`ModelIntegrityError` and the file is never unpickled.
    """
    expected = sha256 or recorded_sha256(model_path, registry_path)
    actual = file_sha256(model_path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{model_path}: sha256 {actual[:16]}… does not match the recorded {expected[:16]}…; the file was changed "
            "or replaced after training, so it is not loaded (a pickle runs code when loaded). Run dvc repro (or "
            "dvc checkout models/model.joblib) to restore the trained model"
        )
    # The checkpoint may hold this project's own estimators (the baselines); importing their module here makes
    # that dependency explicit (and visible to the dvc.yaml dependency check).
    import almanac.ml.models  # noqa: F401

    return joblib.load(model_path)
