"""The generated tables of the docs, from the code that they describe: every params key with its default and
meaning (docs/parameters.md, ``almanac params --markdown``) and every stage with its params, data read and files
written (docs/pipeline.md, ``almanac params --pipeline-markdown``).  ``tests/unit/test_docs.py`` keeps the pages
equal to them.
"""

from __future__ import annotations

from almanac.config import describe, dotted_keys


def _markdown_value(value) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value is None:
        return "`null`"  # as params.yaml writes it
    return f"`{value}`" if value != "" else "`''`"


def params_table() -> str:
    """docs/parameters.md's table of every params key: key, default and meaning, from the schema."""
    rows = ["| key | default | meaning |", "|---|---|---|"]
    for key in dotted_keys():
        default, meaning = describe(key)
        rows.append(f"| `{key}` | {_markdown_value(default)} | {meaning} |")
    return "\n".join(rows)


def _paths(entries: list) -> list[str]:
    """The paths of a ``dvc.yaml`` list of deps or outs (an entry is a path or ``{path: options}``)."""
    return [next(iter(entry)) if isinstance(entry, dict) else entry for entry in entries or []]


def pipeline_table(dvc: dict) -> str:
    """docs/pipeline.md's table of stages from the parsed ``dvc.yaml``: params, data read, files written.

    A stage's code dep (``data/code_hashes/<stage>.json``: the hashes of the files it runs) is left out.
    """
    rows = ["| stage | params | reads | writes |", "|---|---|---|---|"]
    for name, stage in dvc["stages"].items():
        params = ", ".join(f"`{p}`" for p in stage.get("params") or []) or "—"
        data = [d for d in _paths(stage.get("deps")) if not d.startswith("data/code_hashes/")]
        written = [*_paths(stage.get("outs")), *_paths(stage.get("metrics")), *_paths(stage.get("plots"))]
        reads = ", ".join(f"`{d}`" for d in data) or "—"
        writes = ", ".join(f"`{o}`" for o in written) or "—"
        rows.append(f"| `{name}` | {params} | {reads} | {writes} |")
    return "\n".join(rows)
