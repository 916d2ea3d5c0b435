"""The self-contained HTML report (mtl.report_html) and model zips (mtl.export)."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from html.parser import HTMLParser

import _fixtures
import pytest
from _fixtures import feed_prepared, tiny_config, trained_feed

from mtl.compare import compare
from mtl.errors import ModelFileError
from mtl.export import load_model, unzip_model, zip_model
from mtl.report_html import (
    SECTIONS,
    comparison_report,
    document_report,
    model_report,
    sweep_report,
    training_report,
    write_report,
)
from mtl.store import describe_data, to_document
from mtl.tradeoff import sweep


class _Page(HTMLParser):
    """The parts of a report the tests look at: sections, tables, charts, scripts."""

    def __init__(self):
        super().__init__()
        self.sections: dict[str, str] = {}
        self.current: str | None = None
        self.tables: dict[str, int] = {}
        self.charts: dict[str, int] = {}
        self.scripts: list[dict] = []
        self.status: list[str] = []
        self.text: dict[str, list[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.current = attrs["id"]
            self.text[self.current] = []
            self.tables[self.current] = self.charts[self.current] = 0
        elif tag == "table" and self.current:
            self.tables[self.current] += 1
        elif tag == "div" and "plotly-graph-div" in (attrs.get("class") or "") and self.current:
            self.charts[self.current] += 1
        elif tag == "script":
            self.scripts.append(attrs)
        elif tag == "div" and (attrs.get("class") or "").startswith("status"):
            self.status.append(attrs["class"].split()[1])

    def handle_endtag(self, tag):
        if tag == "section":
            self.current = None

    def handle_data(self, data):
        if self.current:
            self.text[self.current].append(data)

    def words(self, section: str) -> str:
        return " ".join(self.text[section])


def _parse(page: str) -> _Page:
    parsed = _Page()
    parsed.feed(page)
    assert list(parsed.text) == list(SECTIONS)  # every section, in order
    # offline: plotly.js is inlined, nothing is fetched
    assert not any("src" in s for s in parsed.scripts)
    assert "* plotly.js v" in page and "<link" not in page
    return parsed


def test_a_training_report_has_every_section():
    result = trained_feed()[2]
    page = training_report(result, dataset=describe_data(feed_prepared()), title="Demo <run>")
    p = _parse(page)
    assert "Demo &lt;run&gt;" in page  # escaped
    assert p.status == ["completed"]
    assert p.tables["metrics"] == 2 and p.charts["charts"] >= 3  # loss, metric, diagnostics curves
    assert "click" in p.words("findings") and "AUC" in p.words("findings")
    assert "shared_bottom" in p.words("config") and "model.hidden" in p.words("config")
    assert p.tables["data"] == 2 and "tiny-feed" in p.words("data") and "4,000" in p.words("data")
    env = p.words("environment")
    assert "torch" in env and "python" in env and "seeds" in env and "UTC" in env
    print(f"\ntraining report: {len(page.encode()) / 1024**2:.2f} MB")


def test_a_stopped_training_says_so():
    result = replace(trained_feed()[2], stopped=True, reason="stopped by user")
    p = _parse(training_report(result))
    assert p.status == ["stopped"]
    assert "not recorded" in p.words("data")


def test_a_comparison_report_and_a_failed_one():
    cmp = compare(feed_prepared(), tiny_config(), ["static", "uncertainty"], seeds=1)
    p = _parse(comparison_report(cmp, dataset=describe_data(feed_prepared())))
    assert p.status == ["completed"] and p.charts["charts"] == 2 and p.tables["metrics"] == 2
    assert "Δm" in p.words("findings") or "Δm" in p.words("metrics")
    failed = replace(cmp, stopped=True, error="Training Uncertainty with seed 0 failed (boom)")
    p = _parse(comparison_report(failed))
    assert p.status == ["failed"]
    assert "boom" in " ".join(p.text["summary"])


def test_a_sweep_report():
    sw = sweep(feed_prepared(), tiny_config(), points=3, conditioned=True)
    p = _parse(sweep_report(sw, dataset=describe_data(feed_prepared()), config=tiny_config()))
    assert p.charts["charts"] == 2  # front, fidelity
    assert "shared_bottom" in p.words("summary")  # the network the sweep trained
    assert "Pareto front" in p.words("findings") and "hypervolume" in p.words("findings")
    # Whether the conditioned model moves with its weights, signed against the retrains.
    assert "the conditioned model's quality moves" in p.words("findings") and "**" not in p.words("findings")
    assert p.tables["metrics"] >= 3
    # from its document, as the store and --json keep it
    doc = json.loads(json.dumps(to_document(sw, None, tiny_config())))
    p = _parse(document_report(doc))
    assert "epochs" in p.words("config")


def test_reports_from_cli_json_and_from_a_saved_model(tmp_path):
    result = trained_feed()[2]
    doc = json.loads(json.dumps(result.to_json()))  # train --json: no task specs, no data description
    p = _parse(document_report(doc))
    assert p.charts["charts"] >= 2 and p.tables["metrics"] == 2
    result.trained.save(tmp_path / "m")
    page = model_report(load_model(tmp_path / "m"))
    p = _parse(page)
    assert p.tables["metrics"] == 2 and "tiny-feed" in p.words("data")
    assert "no history" in p.words("charts").lower()
    out = write_report(page, tmp_path / "deep" / "r.html")
    assert out.read_text() == page and not list(out.parent.glob(".*tmp"))


def test_a_model_zip_round_trips(tmp_path):
    trained = trained_feed()[2].trained
    trained.save(tmp_path / "m")
    data = zip_model(tmp_path / "m")
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "model/model.safetensors" in names and "model/model.json" in names
    path = zip_model(tmp_path / "m", tmp_path / "m.zip")
    back = load_model(path)
    frame = _fixtures.feed_frame().head(40)
    assert (back.predict(frame).to_numpy() == trained.predict(frame).to_numpy()).all()
    assert unzip_model(data, tmp_path / "u").joinpath("encoder.json").exists()
    for upload in (data, io.BytesIO(data)):  # what an upload widget hands over
        assert load_model(upload).task_names == trained.task_names


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, content in files.items():
            z.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(("files", "needle"), [
    ({"model.json": b"{}"}, "missing"),
    ({"../model.json": b"{}", "encoder.json": b"{}", "model.safetensors": b""}, "unsafe"),
    ({"a/model.json": b"{}", "b/encoder.json": b"{}", "a/model.safetensors": b""}, "more than one"),
])
def test_bad_model_zips_are_refused_with_a_reason(tmp_path, files, needle):
    with pytest.raises(ModelFileError, match=needle):
        unzip_model(_zip(files), tmp_path / "out")
    assert not (tmp_path.parent / "model.json").exists()


def test_a_file_that_is_not_a_zip_is_refused(tmp_path):
    junk = tmp_path / "m.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(ModelFileError, match="neither"):
        load_model(junk)
    with pytest.raises(ModelFileError, match="not a zip"):
        unzip_model(b"nope", tmp_path / "x")
