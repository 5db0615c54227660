"""Where the pipeline's stages write: every output path of ``dvc.yaml``, declared once.

``dvc.yaml`` names these paths on its command lines (the stages take them as arguments); the library's readers
(``almanac report``, the ML Lab, ``almanac predict``, the experiments table) take them from :class:`PipelineFiles`,
and ``tests/unit/test_paths.py`` checks that both lists are the same.  Imports nothing of the package.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class PipelineFiles:
    """Where the pipeline's stages write (the paths of ``dvc.yaml``), relative to the repository root.

    The four folders can be moved (``almanac predict --data-dir``, a scratch copy in a test); the file names
    inside them are ``dvc.yaml``'s.  :meth:`under` puts all four under another root.

    Examples
    --------
    >>> files = PipelineFiles()
    >>> files.oof.as_posix(), files.equity.as_posix(), files.metric("backtest").as_posix()
    ('data/predictions/oof.parquet', 'plots/equity.csv', 'metrics/backtest.json')
    >>> PipelineFiles.under("/repo").model.as_posix()
    '/repo/models/model.joblib'
    """

    data: Path = Path("data")
    models: Path = Path("models")
    metrics: Path = Path("metrics")
    plots: Path = Path("plots")

    @classmethod
    def under(cls, root: str | Path) -> PipelineFiles:
        """The same layout under ``root`` (a repository or a copy of one)."""
        root = Path(root)
        return cls(data=root / "data", models=root / "models", metrics=root / "metrics", plots=root / "plots")

    def metric(self, stage: str) -> Path:
        """The metrics file of ``stage`` (``train``, ``evaluate``, ``backtest``, ``audit``)."""
        return self.metrics / f"{stage}.json"

    def plot(self, name: str) -> Path:
        """The plot CSV called ``name`` (``roc``, ``equity``, ...: the properties below)."""
        return self.plots / f"{name}.csv"

    def outputs(self) -> dict[str, Path]:
        """Every output path, by property name (what ``dvc.yaml``'s stages write, metrics and plots included)."""
        names = [name for name, value in vars(type(self)).items() if isinstance(value, property)]
        return {name: getattr(self, name) for name in names}

    # stage code_hashes
    @property
    def code_hashes(self) -> Path:
        """A folder of one JSON per stage: the sha256 of each file the stage runs (stage ``code_hashes``)."""
        return self.data / "code_hashes"

    # stage bars
    @property
    def bars(self) -> Path:
        """Canonical minute bars (stage ``bars``)."""
        return self.data / "bars" / "minute.parquet"

    @property
    def daily(self) -> Path:
        """Cross-asset daily series (stage ``bars``)."""
        return self.data / "bars" / "daily.parquet"

    @property
    def manifest(self) -> Path:
        """The bars manifest: provenance, rolls, repairs, ingest warnings (stage ``bars``)."""
        return self.data / "bars" / "manifest.json"

    @property
    def truth(self) -> Path:
        """The synthetic market's latent state, empty for vendor data (stage ``bars``)."""
        return self.data / "truth" / "truth.parquet"

    @property
    def sessions(self) -> Path:
        """The session table (stage ``sessions``)."""
        return self.data / "sessions.parquet"

    @property
    def features(self) -> Path:
        """The feature table (stage ``features``)."""
        return self.data / "features.parquet"

    @property
    def lineage(self) -> Path:
        """Each feature's source, window and whether it was computed (stage ``features``)."""
        return self.data / "features_lineage.json"

    @property
    def labels(self) -> Path:
        """The label table (stage ``labels``)."""
        return self.data / "labels.parquet"

    @property
    def oof(self) -> Path:
        """The out-of-fold predictions (stage ``train``)."""
        return self.data / "predictions" / "oof.parquet"

    @property
    def oof_shap(self) -> Path:
        """Each out-of-fold day's SHAP values under its fold's model (stage ``train``)."""
        return self.data / "predictions" / "oof_shap.parquet"

    @property
    def model(self) -> Path:
        """The final model (stage ``train``)."""
        return self.models / "model.joblib"

    @property
    def registry(self) -> Path:
        """The model registry (stage ``train``)."""
        return self.models / "model_registry.json"

    @property
    def signature(self) -> Path:
        """The final model's feature names and classes, beside it (stage ``train``)."""
        return self.models / "model_signature.json"

    @property
    def train_metrics(self) -> Path:
        """Stage ``train``'s metrics."""
        return self.metric("train")

    @property
    def evaluate_metrics(self) -> Path:
        """Stage ``evaluate``'s metrics."""
        return self.metric("evaluate")

    @property
    def backtest_metrics(self) -> Path:
        """Stage ``backtest``'s metrics."""
        return self.metric("backtest")

    @property
    def audit_metrics(self) -> Path:
        """Stage ``audit``'s metrics."""
        return self.metric("audit")

    @property
    def cv_folds(self) -> Path:
        """Each walk-forward fold's dates, sizes and AUC (stage ``train``)."""
        return self.plot("cv_folds")

    @property
    def roc(self) -> Path:
        """The out-of-fold ROC curve (stage ``evaluate``)."""
        return self.plot("roc")

    @property
    def calibration(self) -> Path:
        """The out-of-fold calibration bins (stage ``evaluate``)."""
        return self.plot("calibration")

    @property
    def confusion(self) -> Path:
        """One row per out-of-fold day: actual and predicted class (stage ``evaluate``)."""
        return self.plot("confusion")

    @property
    def rolling_auc(self) -> Path:
        """The rolling AUC of the model and of the synthetic oracle (stage ``evaluate``)."""
        return self.plot("rolling_auc")

    @property
    def shap_importance(self) -> Path:
        """Mean absolute out-of-fold SHAP value per feature (stage ``evaluate``)."""
        return self.plot("shap_importance")

    @property
    def breakdown(self) -> Path:
        """AUC by year, weekday, half day, roll week and volatility tercile (stage ``evaluate``)."""
        return self.plot("breakdown")

    @property
    def equity(self) -> Path:
        """The daily P&L, equity and drawdown of the model and of holding (stage ``backtest``)."""
        return self.plot("equity")

    @property
    def risk_coverage(self) -> Path:
        """P&L and coverage at each threshold (stage ``backtest``)."""
        return self.plot("risk_coverage")

    @property
    def yearly(self) -> Path:
        """P&L by year (stage ``backtest``)."""
        return self.plot("yearly")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``: write to it inside the block; on success it is flushed to disk and
    renamed over ``path`` (atomic on one file system), on failure it is removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        temporary.chmod(0o644)  # mkstemp makes it private; outputs are ordinary files
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
