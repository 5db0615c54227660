"""docs/data.md's "Step by step" commands, run word for word in a fresh copy of the repository.

A new user saves the FirstRate ES sample as ``data/raw/ES_1min_sample.csv`` and follows docs/data.md; ``bars``, ``sessions``,
``features`` and ``labels`` must then run on it.  Skips cleanly when ``../shared/data/real`` is absent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from almanac.data_sources.store import read_json, read_table

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
SAMPLE = SHARED / "data" / "real" / "es_1min_firstrate_2023-03" / "ES_1min_sample.csv"


def docs_block(title: str) -> str:
    text = (REPO / "docs" / "data.md").read_text()
    section = text.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```bash\n(.*?)```", section, re.S).group(1)


def fresh_copy(dest: Path) -> None:
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())


@pytest.mark.pipeline
@pytest.mark.real_data
def test_bring_your_own_data_steps_word_for_word(tmp_path):
    if not SAMPLE.exists():
        pytest.skip("../shared/data/real is not available")
    repo = tmp_path / "almanac"
    fresh_copy(repo)
    (repo / "data" / "raw").mkdir(parents=True, exist_ok=True)
    (repo / "data" / "raw" / SAMPLE.name).write_bytes(SAMPLE.read_bytes())  # the file the user saved
    (repo / ".venv").symlink_to(Path(sys.prefix))
    env = {
        **os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }  # fmt: skip
    subprocess.run("git init -q && git add -A && git commit -qm init", shell=True, cwd=repo, env=env, check=True)
    done = subprocess.run(
        ["bash", "-e", "-c", docs_block("Step by step")],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "trade dates 12 from 2023-03-08 to 2023-03-23" in done.stdout  # almanac info
    manifest = read_json(repo / "data" / "bars" / "manifest.json")
    assert (
        manifest["source"] == "files"
        and manifest["format"] == "firstrate"
        and manifest["stamp_check"]["verdict"] == "ok"
    )
    features = read_table(repo / "data" / "features.parquet")
    labels = read_table(repo / "data" / "labels.parquet")
    assert len(features) == len(labels) == 12
    assert features["gap_pct"].notna().sum() == 11  # the first day has no previous close
    assert (repo / "data" / "raw" / "ES_1min_sample.csv.dvc").exists()
