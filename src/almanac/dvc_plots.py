"""``dvc plots show`` / ``dvc plots diff`` as an HTML page that works offline (``almanac plots``).

DVC draws the plots declared in ``dvc.yaml`` with Vega-Lite, and its default page loads Vega from a CDN, so it
is blank without a network.  Here DVC renders the same plots into a page template that carries the Vega,
Vega-Lite and Vega-Embed libraries inline.  The bundle comes from ``vl-convert-python`` (the Vega project's
own packaging of those libraries, ``vl_convert.javascript_bundle``) rather than a copy kept in this repository;
it is built once per ``vl-convert`` version and cached under ``.dvc/tmp``.

Charts are drawn as SVG (not canvas), so that what was drawn can be read back (the browser tests count marks),
and every view is kept in ``window.almanacViews``.
"""

from __future__ import annotations

import os
from pathlib import Path

VEGA_LITE = "5.21"  # dvc-render writes Vega-Lite v5 specifications

TEMPLATE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>Almanac Futures: DVC plots</title>
<script>
__BUNDLE__
</script>
<script>
// DVC calls vegaEmbed(element, spec) once per plot: draw SVG and keep each view for inspection.
(function () {
  const embed = window.vegaEmbed;
  window.almanacViews = [];
  window.almanacErrors = [];
  window.vegaEmbed = function (element, spec, options) {
    return embed(element, spec, Object.assign({renderer: "svg"}, options || {}))
      .then(function (result) { window.almanacViews.push(result.view); return result; })
      .catch(function (error) { window.almanacErrors.push(String(error)); throw error; });
  };
})();
</script>
<style>
body { font-family: sans-serif; }
table { border-spacing: 15px; }
</style>
</head>
<body>
{plot_divs}
</body>
</html>
"""


def offline_template(cache_dir: str | Path = ".dvc/tmp") -> Path:
    """The page template with the charting libraries inline (built once per vl-convert version)."""
    import vl_convert

    path = Path(cache_dir) / f"almanac-plots-{vl_convert.__version__}-vl{VEGA_LITE}.html"
    if not path.is_file():
        bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(TEMPLATE.replace("__BUNDLE__", bundle), encoding="utf-8")
        os.replace(temporary, path)
    return path


def render(revisions: list[str] = (), *, out: str | Path = "dvc_plots", repo: str | Path = ".") -> Path:
    """Run ``dvc plots show`` (no ``revisions``) or ``dvc plots diff REV...`` into ``out``; returns the page.

    The command is an argument list (no shell): revisions are passed to DVC as they are.
    """
    from almanac.experiments import dvc

    repo = Path(repo)
    template = offline_template(repo / ".dvc" / "tmp").resolve()
    dvc("plots", *(["diff", *revisions] if revisions else ["show"]), "--html-template", str(template), "-o", str(out),
        repo=repo)  # fmt: skip
    page = (repo / out / "index.html").resolve()
    if not page.is_file():
        raise RuntimeError(f"dvc plots wrote no page at {page}")
    return page
