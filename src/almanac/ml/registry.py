"""The model registry (the original design's ``model_registry.json``): every registered version and the current one.

``{"current": name, "versions": {name: record, ...}}``.  Each ``train`` run registers its model: a new version is
appended, a retrained one replaces its own record in place, and ``current`` names the model now in
``models/model.joblib``.  The file is a ``persist: true`` output of the ``train`` stage, so versions accumulate
across runs and are committed with ``dvc.lock``; an older model file is recovered from its commit
(``dvc get . models/model.joblib --rev <commit>``) and checked against its recorded sha256.

No wall-clock times: they would make every rerun differ, and the pipeline's outputs are byte-identical for the
same params and data.  The version is a content hash of model name, params, target, cutoff and feature set, so the
same experiment always gets the same version and any change gets a new one.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pandas as pd

from almanac.errors import ModelIntegrityError


def registry_entry(
    *,
    model: str,
    target: str,
    symbol: str,
    cutoff: str,
    params: dict,
    feature_lineage: dict,
    features: pd.DataFrame,
    metrics: dict,
    model_sha256: str,
) -> dict:
    """``{name: record}`` for a trained model; ``model_sha256`` is the hash of the saved joblib file."""
    feature_set = sorted(features.columns)
    identity = json.dumps(
        {"model": model, "params": params, "target": target, "cutoff": cutoff, "features": feature_set},
        sort_keys=True,
        default=str,
    )
    version = hashlib.sha256(identity.encode()).hexdigest()[:12]
    families = sorted({v["family"] for v in feature_lineage.values() if v.get("computed", True)})
    not_computed = {k: v["why"] for k, v in feature_lineage.items() if not v.get("computed", True)}
    name = f"{symbol.lower()}_{target}_{model}_{version}"
    return {
        name: {
            "model": model,
            "version": version,
            "symbol": symbol,
            "target": target,
            "cutoff_et": cutoff,
            "params": params,
            "feature_set": "+".join(families),
            "features": feature_set,
            "data_range": f"{features.index.min().date()} to {features.index.max().date()}",
            "cv_score": metrics["cv_auc_mean"],
            "cv_metric": "auc (mean over walk-forward folds)",
            "model_sha256": model_sha256,
            **({"features_not_computed": not_computed} if not_computed else {}),
        }
    }


def register(registry: dict | None, entry: dict) -> dict:
    """``registry`` with ``entry`` (one ``{name: record}``) registered and made current.

    A name already registered (the same model, params, target and features) keeps its place and gets the new
    record; a new one is appended.  A registry in the older one-record format becomes the first version.
    """
    ((name, record),) = entry.items()
    versions = dict(_versions(registry or {}))
    versions[name] = record
    return {"current": name, "versions": versions}


def _versions(registry: dict) -> dict:
    if "versions" in registry:
        return registry["versions"]
    return {k: v for k, v in registry.items() if isinstance(v, dict) and "model_sha256" in v}  # one-record format


def current_record(registry: dict, *, source: str | Path = "registry") -> tuple[str, dict]:
    """``(name, record)`` of the current model of a registry (the last record of the older format)."""
    versions = _versions(registry)
    name = registry.get("current") if "versions" in registry else (list(versions)[-1] if versions else None)
    if name is None or name not in versions:
        raise ModelIntegrityError(f"{source}: no current model is registered (current={name!r})")
    return name, versions[name]


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
        if _versions(entries):
            return current_record(entries, source=registry)[1]["model_sha256"]
    if registry_path is None and sidecar_path(model_path).is_file():
        return sidecar_path(model_path).read_text().split()[0]
    raise ModelIntegrityError(
        f"{model_path}: no sha256 is recorded for this model (looked in {registry} and {sidecar_path(model_path)}); "
        "a model file is a pickle and runs code when loaded, so it is loaded only when its checksum is known. "
        "Retrain it (dvc repro) or pass its sha256"
    )


def locked_md5(model_path: str | Path, lock_path: str | Path) -> str | None:
    """The md5 that ``dvc.lock`` records for ``model_path`` (paths relative to the lock's folder), or None when the
    lock does not record it."""
    import yaml

    lock_path = Path(lock_path)
    relative = Path(os.path.relpath(Path(model_path).resolve(), lock_path.resolve().parent)).as_posix()
    # libyaml's loader when present: the pure-Python one takes 0.3 s over a dvc.lock, most of `almanac predict`.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for stage in (yaml.load(lock_path.read_text(), Loader=loader) or {}).get("stages", {}).values():
        for out in stage.get("outs", []):
            if out.get("path") == relative:
                return out.get("md5")
    return None


def verify_model(
    model_path: str | Path,
    *,
    registry_path: str | Path | None = None,
    sha256: str | None = None,
    lock_path: str | Path | None = None,
) -> str:
    """Check a saved model file against its records without loading it; returns its sha256.

    ``sha256`` (when given) is the expected checksum; otherwise :func:`recorded_sha256` finds it.  With
    ``lock_path`` (the repository's ``dvc.lock``, which git tracks), the file's md5 must also be the one the lock
    records for it: the registry could be edited together with the model, the lock is a second, independent record.
    A mismatch raises :class:`ModelIntegrityError`.  Nothing is unpickled, so a caller that only needs to know the
    registered model is the file on disk (``almanac predict`` for a past day) pays no import of the model's library.
    """
    expected = sha256 or recorded_sha256(model_path, registry_path)
    actual = file_sha256(model_path)
    if actual != expected:
        raise ModelIntegrityError(
            f"{model_path}: sha256 {actual[:16]}… does not match the recorded {expected[:16]}…; the file was changed "
            "or replaced after training, so it is not loaded (a pickle runs code when loaded). Run dvc repro (or "
            "dvc checkout models/model.joblib) to restore the trained model"
        )
    locked = locked_md5(model_path, lock_path) if lock_path is not None and Path(lock_path).is_file() else None
    if locked is not None:
        md5 = hashlib.md5(Path(model_path).read_bytes()).hexdigest()
        if md5 != locked:
            raise ModelIntegrityError(
                f"{model_path}: md5 {md5[:16]}… is not the {locked[:16]}… that {lock_path} records for it, though the "
                "registry agrees with the file: the model and its registry record were changed together, so it is "
                "not loaded. Restore both (git checkout dvc.lock models/model_registry.json && dvc checkout "
                "models/model.joblib) or retrain (dvc repro)"
            )
    return actual


def model_signature(classes, feature_names, model_sha256: str) -> dict:
    """A model's signature: the feature names it reads (in order), the classes it predicts (sorted, its columns'
    order) and the sha256 of the model file it describes.

    The ``train`` stage writes it beside the model, so that a reader of these two facts (the ``evaluate`` stage)
    need not unpickle the model, which imports its library and scikit-learn (about a second per process).
    """
    return {
        "model_sha256": model_sha256,
        "feature_names": [str(name) for name in feature_names],
        "classes": [value.item() if hasattr(value, "item") else value for value in classes],  # numpy -> JSON
    }


def read_signature(path: str | Path, *, model_sha256: str) -> dict:
    """The signature at ``path`` (:func:`model_signature`), checked to describe the model whose sha256 is
    ``model_sha256`` (as :func:`verify_model` returns it); a signature of another model raises
    :class:`ModelIntegrityError`."""
    signature = json.loads(Path(path).read_text())
    if signature.get("model_sha256") != model_sha256:
        raise ModelIntegrityError(
            f"{path}: describes the model with sha256 {str(signature.get('model_sha256'))[:16]}…, not the current "
            f"one ({model_sha256[:16]}…); the model was retrained without it. Rerun the train stage (dvc repro)"
        )
    return signature


def load_model(
    model_path: str | Path,
    *,
    registry_path: str | Path | None = None,
    sha256: str | None = None,
    lock_path: str | Path | None = None,
) -> dict:
    """Unpickle a saved model checkpoint only after :func:`verify_model` has checked its sha256 (and, with
    ``lock_path``, the md5 ``dvc.lock`` records); a mismatch raises :class:`ModelIntegrityError` and the file is never
    unpickled."""
    verify_model(model_path, registry_path=registry_path, sha256=sha256, lock_path=lock_path)
    import joblib  # lazily, like the model's own library: only a caller that unpickles pays for them

    # The checkpoint may hold this project's own estimators (the baselines); importing their module here makes
    # that dependency explicit (and visible to the dvc.yaml dependency check).
    import almanac.ml.models  # noqa: F401

    return joblib.load(model_path)
