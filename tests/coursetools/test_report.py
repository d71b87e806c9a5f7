"""`make report` (tools/report), its formulas (coursekit.mathml) and plotting.training_curves, on fake
summaries: no training."""

import json
import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from markupsafe import Markup

import coursetools.report as report
import coursetools.report.execute  # noqa: F401 - the runner, whose ROOT a test moves
from coursekit import plotting, profiles
from coursekit.mathml import latex_to_mathml, text_with_math
from tests.support.screenshots import screenshot

REPORT_PACKAGE = Path(report.__file__).parent
MATHML_NS = 'xmlns="http://www.w3.org/1998/Math/MathML"'

EXAMPLES = ["你今晚會去派對嗎?", "我有一隻貓。", "这本书很有意思。"]
TRANSLATIONS = {
    "你今晚會去派對嗎?": "are you going to the party tonight ?",
    "我有一隻貓。": "i have a cat .",
    "这本书很有意思。": "this book is very interesting .",
}
NMT_RUNS = {  # run: (attention, greedy BLEU, beam BLEU, final validation loss)
    "bahdanau": ("Bahdanau (additive)", 19.1, 21.3, 2.9),
    "luong-dot": ("Luong dot", 8.7, 9.4, 3.6),
    "luong-general": ("Luong general", 20.4, 21.0, 2.8),
}
FAILED_RUN = "luong-concat"
TRACEBACK = (
    "---------------------------------------------------------------------------\n"
    "ValueError                                Traceback (most recent call last)\n"
    "Cell In[27], line 12\n      10 for epoch in range(profile.epochs):\n"
    "---> 12     loss = train_step(src, tgt)\n"
    "ValueError: Dimensions must be equal, but are 256 and 128 for 'luong_concat/MatMul'"
)


def nmt_summary(run, attention, greedy, beam, final_loss, rng):
    history = []
    for epoch in range(1, 11):
        history.append(
            {
                "epoch": epoch,
                "train_loss": float(5.5 * 0.82**epoch + 0.6),
                "validation_loss": np.float32(final_loss + 2.5 * 0.7**epoch),
                "validation_accuracy": np.float64(0.55 - 0.35 * 0.72**epoch - final_loss / 40),
                "seconds": 48.0 + epoch % 3,
            }
        )
    examples = []
    for source in EXAMPLES:
        tokens = list(source)
        words = TRANSLATIONS[source].split()
        if run == "luong-dot":
            words = [*words[:-2], "the", "."]
        weights = rng.dirichlet(np.ones(len(tokens)) * 0.3, size=len(words))
        examples.append(
            {
                "source": source,
                "source_tokens": tokens,
                "translation": " ".join(words),
                "words": words,
                "weights": weights,
            }
        )
    return {
        "lab": "nmt" if run == "bahdanau" else "nmt_luong",
        "run": run,
        "profile": "cpu",
        "attention": attention,
        "cell": "GRU",
        "metrics": {
            "bleu_greedy": np.float64(greedy),
            "bleu_beam": beam,
            "beam_width": np.int64(4),
            "train_seconds": 503.2,
            "seconds_per_epoch": 50.3,
            "parameters": np.int64(4_312_577),
            "epochs": 10,
            "restored": run == "luong-general",
            "held_out_sources": 1042,
        },
        "history": history,
        "examples": examples,
    }


def sentiment_summary():
    words = ["great", "wonderful", "loved", "best", "brilliant", "fun", "perfect", "enjoyed", "well", "<br>"]
    return {
        "lab": "sentiment",
        "run": "sentiment",
        "profile": "cpu",
        "metrics": {
            "test_accuracy": np.float32(0.848),
            "train_seconds": 61.0,
            "parameters": 1_380_481,
            "epochs": 2,
            "threshold": 0.80,
        },
        "history": [
            {"epoch": 1, "train_loss": 0.52, "train_accuracy": 0.74, "validation_accuracy": 0.83, "seconds": 31.0},
            {"epoch": 2, "train_loss": 0.31, "train_accuracy": 0.87, "validation_accuracy": 0.85, "seconds": 30.0},
        ],
        "top_words": [
            {
                "review": i,
                "label": "positive" if i % 2 else "negative",
                "predicted": "positive" if i % 3 else "negative",
                "probability": 0.5 + i / 25,
                "words": words,
            }
            for i in range(10)
        ],
    }


def write_fake_runs(runs_dir: Path) -> None:
    """Summaries as the notebooks write them, plus the runner's status files (one run failed)."""
    rng = np.random.default_rng(0)
    for run, spec in NMT_RUNS.items():
        folder = runs_dir / run
        folder.mkdir(parents=True)
        report.save_summary(nmt_summary(run, *spec, rng), folder)
        errors = (
            []
            if run != "luong-dot"
            else [  # its graded BLEU check failed; the notebook went on
                {
                    "cell": 39,
                    "ename": "AssertionError",
                    "evalue": "greedy BLEU on the held-out split is 8.70",
                    "traceback": "AssertionError: greedy BLEU on the held-out split is 8.70, below the floor",
                }
            ]
        )
        (folder / report.STATUS_FILE).write_text(json.dumps({"status": "ok", "seconds": 551.0, "cell_errors": errors}))
    failed = runs_dir / FAILED_RUN
    failed.mkdir(parents=True)
    (failed / report.STATUS_FILE).write_text(json.dumps({"status": "failed", "seconds": 12.0, "error": TRACEBACK}))
    folder = runs_dir / "sentiment"
    folder.mkdir(parents=True)
    report.save_summary(sentiment_summary(), folder)


MACHINE = {"CPUs": "2", "TensorFlow": "2.21.0", "Date": "2025-01-01 12:00 UTC", "Git commit": "abc1234"}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report of the fake runs, rendered once through the CLI's --no-run path."""
    tmp = tmp_path_factory.mktemp("report")
    runs_dir = tmp / "runs"
    write_fake_runs(runs_dir)
    out = tmp / "index.html"
    code = report.main(["--no-run", "--runs-dir", str(runs_dir), "--out", str(out)])
    return code, out, out.read_text(encoding="utf-8")


def test_save_summary_round_trips_numpy_and_chinese(tmp_path):
    summary = {
        "run": "bahdanau",
        "profile": "cpu",
        "metrics": {
            "bleu_greedy": np.float32(19.25),
            "beam_width": np.int64(4),
            "restored": np.bool_(True),
            "nan": float("nan"),
        },
        "examples": [
            {"source": "我有一隻貓。", "source_tokens": list("我有一隻貓。"), "weights": np.eye(2, 6, dtype=np.float32)}
        ],
    }
    path = report.save_summary(summary, tmp_path)
    assert path == (tmp_path / "run_summary.json").resolve()
    text = path.read_text(encoding="utf-8")
    assert "我有一隻貓。" in text  # stored as UTF-8, not \\u escapes
    back = report.load_summary(path)
    assert back["metrics"] == {"bleu_greedy": pytest.approx(19.25), "beam_width": 4, "restored": True, "nan": None}
    assert type(back["metrics"]["beam_width"]) is int and type(back["metrics"]["restored"]) is bool
    assert back["examples"][0]["source_tokens"] == list("我有一隻貓。")
    assert back["examples"][0]["weights"][1] == [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert report.load_summary(tmp_path) == back  # a folder means its run_summary.json


def test_save_summary_defaults_to_cwd_and_environment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REPORT_RUN", "luong-dot")
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    path = report.save_summary({"lab": "nmt_luong", "metrics": {}})
    assert path.parent == tmp_path.resolve()
    assert report.load_summary(path) == {"lab": "nmt_luong", "metrics": {}, "run": "luong-dot", "profile": "smoke"}
    with pytest.raises(TypeError):
        report.save_summary({"x": object()})


@pytest.mark.parametrize("runs", [["bahdanau"], ["bahdanau", "luong-dot", "luong-general"]])
def test_training_curves(runs):
    rng = np.random.default_rng(1)
    histories = {run: nmt_summary(run, *NMT_RUNS[run], rng)["history"] for run in runs}
    fig = plotting.training_curves(histories)
    try:
        assert len(fig.axes) == 3
        assert [ax.get_title() for ax in fig.axes] == ["training loss", "validation loss", "validation token accuracy"]
        for ax in fig.axes:
            assert [line.get_label() for line in ax.get_lines()] == runs
            assert list(ax.get_lines()[0].get_xdata()) == list(range(1, 11))
        assert fig.axes[0].get_shared_x_axes().joined(fig.axes[0], fig.axes[2])
        assert [t.get_text() for t in fig.legends[0].get_texts()] == runs
    finally:
        plt.close(fig)


def test_training_curves_tolerates_missing_metrics():
    fig = plotting.training_curves(
        {"a": [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": None}], "b": []},
        metrics=[("train_loss", "loss"), ("validation_accuracy", "acc")],
    )
    try:
        assert len(fig.axes[0].get_lines()) == 1 and list(fig.axes[0].get_lines()[0].get_xdata()) == [1]
        assert not fig.axes[1].get_lines() and fig.axes[1].texts[0].get_text() == "no data"
        assert list(fig.axes[0].get_xticks()) == [1]  # one epoch: one whole-number tick, not 0.95...1.05
    finally:
        plt.close(fig)


def test_report_sections_table_and_verdict(rendered):
    code, _out, text = rendered
    assert code == 1  # one run failed: the command says so with its exit status
    for section in ("results", "curves", "attention", "sentiment", "about"):
        assert f'id="{section}"' in text, section
    table = text[text.index('<table class="results">') :]
    table = table[: table.index("</table>")]
    for run in [*NMT_RUNS, FAILED_RUN]:
        assert f"<span class=run>{run}</span>" in table, run
    assert "failed" in table and "Dimensions must be equal" in text  # the error is shown
    verdict = text[text.index('class="verdict"') :]
    verdict = verdict[: verdict.index("</p>")]
    assert "Best: <b>luong-general</b>" in verdict
    assert "The weakest is <b>luong-dot</b>" in verdict
    assert "floor of 10.0" in verdict and "luong-dot</b> (8.7)" in verdict  # below the floor, said plainly
    assert "luong-concat</b> failed" in verdict
    assert 'id="errors-luong-dot"' in text and "1 cell error" in table  # a failed check, shown
    assert "(k=4)" in table and "4,312,577" in table and "8 min 23 s" in table
    # every example sentence, under every finished run, Chinese included; the sentiment table
    for source in EXAMPLES:
        assert f'<span lang="zh">{source}</span>' in text
    assert text.count('alt="attention weights for') == len(EXAMPLES)
    assert "0.848" in text and "meets the threshold" in text
    assert "&lt;br&gt;" in text and "<br>" not in text  # review words are escaped
    assert "make report PROFILE=cpu" in text


def test_report_is_self_contained(rendered):
    _, _, text = rendered
    sources = re.findall(r'<img[^>]*\ssrc="([^"]*)"', text)
    assert len(sources) >= 2 + len(EXAMPLES)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"<script[^>]*\ssrc=", text, re.I)
    assert not re.search(r"<link[^>]*\shref=", text, re.I)
    assert not re.search(r"""url\(\s*['"]?(https?:)?//""", text, re.I)  # CSS imports, fonts
    assert not re.search(r"""\s(src|href)\s*=\s*['"]?(https?:)?//""", text, re.I)
    assert "@font-face" in text and "data:font/woff;base64," in text  # Chinese renders without a CJK font


def test_report_typesets_its_formulas_as_mathml_without_a_script(rendered):
    _, _, text = rendered
    assert text.count("<math") >= 10
    assert "$" not in text and "\\top" not in text and "\\bar" not in text  # no LaTeX left raw
    assert not re.search(r"<script", text, re.I) and "mathjax" not in text.lower()
    assert "http" not in text.replace(MATHML_NS, "")  # nothing fetched: the namespace is only a name
    scores = text[text.index('<table class="scores">') :]
    scores = scores[: scores.index("</table>")]
    for run in [*NMT_RUNS, FAILED_RUN]:  # every translation run's score function, failed runs too
        row = scores[scores.index(f"<span class=run>{run}</span>") :]
        assert row.index("<math") < row.index("</tr>"), run
    assert 'display="block"' in text  # the softmax over the scores, displayed


def test_text_with_math_converts_formulas_and_escapes_the_rest():
    html = text_with_math("if a < b: $x^2$, then $$\\frac{1}{2}$$ costs \\$5, or $5 and $6")
    assert isinstance(html, Markup)
    assert html.startswith("if a &lt; b: <math") and html.count("<math") == 2
    assert 'display="inline"><mrow><msup><mi>x</mi><mn>2</mn></msup>' in html
    assert 'display="block"><mrow><mfrac>' in html
    assert html.endswith("</math> costs $5, or $5 and $6")  # prices are not formulas
    marked = text_with_math(Markup("<b>Score</b> $a &lt; b$"))  # already HTML: kept, entities read
    assert marked.startswith("<b>Score</b> <math") and "<mo>&#x0003C;</mo>" in marked
    assert text_with_math("broken: $x^$") == "broken: $x^$"  # left readable, not raised
    with pytest.raises(Exception):  # noqa: B017 - latex2mathml raises many kinds of errors on bad LaTeX
        latex_to_mathml("x^")


def test_report_html_comes_from_templates_only():
    """No HTML tag is written in the report's Python; every page element is in templates/."""
    tag = re.compile(r"<(html|head|body|section|div|table|tr|td|th|p|span|b|a|img|pre|ul|li|h[1-6])[\s>]")
    for module in REPORT_PACKAGE.glob("*.py"):
        assert not tag.search(module.read_text(encoding="utf-8")), module.name
    assert (REPORT_PACKAGE / "templates" / "index.html.j2").is_file()


def test_report_tolerates_missing_keys(tmp_path):
    runs_dir = tmp_path / "runs"
    for run, summary in {
        "bahdanau": {"lab": "nmt", "metrics": {"bleu_greedy": 12.0}},
        "luong-dot": {"lab": "nmt_luong", "examples": [{"source": "我有一隻貓。", "translation": "i have a cat ."}]},
        "sentiment": {"lab": "sentiment"},
    }.items():
        (runs_dir / run).mkdir(parents=True)
        report.save_summary(summary, runs_dir / run)
    out = tmp_path / "index.html"
    code = report.main(
        [
            "--no-run",
            "--profile",
            "cpu",
            "--only",
            "bahdanau,luong-dot,sentiment",
            "--runs-dir",
            str(runs_dir),
            "--out",
            str(out),
        ]
    )
    text = out.read_text(encoding="utf-8")
    assert code == 0
    assert text.count(report.DASH) > 10 and "luong-concat" not in text
    assert "luong-dot: no attention weights saved" in text  # said under the figure (and in its panel)
    assert "recorded no test accuracy" in text


def test_missing_summary_is_reported_and_fails(tmp_path):
    out = tmp_path / "index.html"
    code = report.main(
        [
            "--no-run",
            "--profile",
            "smoke",
            "--only",
            "sentiment",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--out",
            str(out),
        ]
    )
    assert code == 1
    assert "has no results" in out.read_text(encoding="utf-8")


def test_runner_executes_each_notebook_with_its_environment(tmp_path, monkeypatch):
    """The right notebook, working folder, environment and time limit per run; a failure is recorded."""
    fake_root = tmp_path / "bundle"  # stand-ins for the notebooks (the executor is mocked)
    for spec in report.RUNS.values():
        (fake_root / spec.notebook).parent.mkdir(parents=True, exist_ok=True)
        (fake_root / spec.notebook).write_text("{}")
    monkeypatch.setattr(report.execute, "ROOT", fake_root)  # where the runner finds the notebooks
    monkeypatch.setenv("COURSE_PROFILE", "full")  # the option wins over the caller's environment
    monkeypatch.delenv("LUONG_SCORE", raising=False)
    calls = []

    def fake_executor(notebook, workdir, env, timeout):
        calls.append((Path(notebook), Path(workdir), dict(env), timeout))
        run = env["REPORT_RUN"]
        if run == "luong-concat-lstm":
            raise RuntimeError("Traceback (most recent call last):\n  File x\nValueError: boom")
        lab = "sentiment" if run == "sentiment" else "nmt"
        report.save_summary({"lab": lab, "run": run, "profile": env["COURSE_PROFILE"]}, workdir)

    runs_dir, ckpt = tmp_path / "report" / "runs", tmp_path / "report" / "checkpoints"
    (runs_dir / "luong-concat-lstm").mkdir(parents=True)  # results of an earlier report
    report.save_summary({"lab": "nmt_luong", "run": "luong-concat-lstm"}, runs_dir / "luong-concat-lstm")
    out = tmp_path / "report" / "index.html"
    code = report.main(
        [
            "--profile",
            "cpu",
            "--cell",
            "lstm",
            "--runs-dir",
            str(runs_dir),
            "--checkpoint-dir",
            str(ckpt),
            "--out",
            str(out),
        ],
        executor=fake_executor,
    )
    assert code == 1  # one run failed; the others still ran and the report was written

    nmt_timeout = profiles.SETTINGS["nmt"]["cpu"]["cell_timeout"]
    luong_timeout = profiles.SETTINGS.get("nmt_luong", profiles.SETTINGS["nmt"])["cpu"]["cell_timeout"]
    expected = {  # run: notebook, LUONG_SCORE, cell time limit
        "bahdanau": ("solutions/nmt/nmt.ipynb", None, nmt_timeout),
        "luong-dot": ("solutions/nmt_luong/nmt_luong.ipynb", "dot", luong_timeout),
        "luong-general": ("solutions/nmt_luong/nmt_luong.ipynb", "general", luong_timeout),
        "luong-concat": ("solutions/nmt_luong/nmt_luong.ipynb", "concat", luong_timeout),
        "sentiment": (
            "solutions/sentiment/sentiment.ipynb",
            None,
            profiles.SETTINGS["sentiment"]["cpu"]["cell_timeout"],
        ),
    }
    # the Luong runs are named as their notebook names them: luong-dot-lstm with an LSTM
    named = [run + ("-lstm" if run.startswith("luong") else "") for run in expected]
    assert [env["REPORT_RUN"] for _, _, env, _ in calls] == named
    for (notebook, workdir, env, timeout), run, name in zip(calls, expected, named):
        path, score, want_timeout = expected[run]
        assert notebook == fake_root / path
        assert workdir == runs_dir / name and workdir.is_dir()
        assert env["COURSE_PROFILE"] == "cpu"
        assert env["NMT_CHECKPOINT_DIR"] == str(ckpt.resolve())
        assert env["MPLBACKEND"] == "Agg"
        assert env.get("LUONG_SCORE") == score
        assert env.get("LUONG_CELL") == ("lstm" if score else None)
        assert timeout == want_timeout
        assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
        assert env["HOME"] == os.environ["HOME"]  # the caller's environment is passed on
    for name in named:
        status = json.loads((runs_dir / name / report.STATUS_FILE).read_text())
        assert status["status"] == ("failed" if name == "luong-concat-lstm" else "ok"), name
    # the failed run shows its own error, not the results of an earlier report
    assert not (runs_dir / "luong-concat-lstm" / report.SUMMARY_FILE).exists()
    status = json.loads((runs_dir / "luong-concat-lstm" / report.STATUS_FILE).read_text())
    assert status["env"] == {"LUONG_SCORE": "concat", "LUONG_CELL": "lstm"}
    text = out.read_text(encoding="utf-8")
    assert 'id="failed-luong-concat-lstm"' in text and "ValueError: boom" in text
    assert "make report PROFILE=cpu CELL=lstm" in text
    # re-rendering finds the LSTM runs again; the GRU runs were never made here
    assert report.main(["--no-run", "--cell", "lstm", "--runs-dir", str(runs_dir), "--out", str(out)]) == 1
    assert [r.status for r in report.collect(list(expected), runs_dir, "lstm")] == ["ok", "ok", "ok", "failed", "ok"]
    assert [r.status for r in report.collect(["luong-dot"], runs_dir)] == ["missing"]


def test_missing_notebook_fails_only_its_run(tmp_path):
    status = report.run_one(
        report.RUNS["bahdanau"],
        "smoke",
        runs_dir=tmp_path / "runs",
        checkpoint_dir=tmp_path / "c",
        root=tmp_path,
        log=None,
        executor=lambda *a: pytest.fail("must not run a missing notebook"),
    )
    assert status["status"] == "failed" and "does not exist" in status["error"]


def test_run_without_summary_fails(tmp_path):
    (tmp_path / "solutions" / "sentiment").mkdir(parents=True)
    (tmp_path / "solutions" / "sentiment" / "sentiment.ipynb").write_text("{}")
    status = report.run_one(
        report.RUNS["sentiment"],
        "smoke",
        runs_dir=tmp_path / "runs",
        checkpoint_dir=tmp_path / "c",
        root=tmp_path,
        log=None,
        executor=lambda *a: None,
    )
    assert status["status"] == "failed" and "save_summary" in status["error"]


def test_only_and_profile_options(tmp_path):
    calls = []

    def executor(notebook, workdir, env, timeout):
        calls.append(env["REPORT_RUN"])
        report.save_summary({"lab": "x"}, workdir)

    code = report.main(
        [
            "--profile",
            "smoke",
            "--only",
            "sentiment,bahdanau",
            "--runs-dir",
            str(tmp_path / "r"),
            "--checkpoint-dir",
            str(tmp_path / "c"),
            "--out",
            str(tmp_path / "x.html"),
        ],
        executor=executor,
    )
    assert code == 0 and calls == ["bahdanau", "sentiment"]  # in the report's order
    with pytest.raises(SystemExit):
        report.main(["--only", "bahdanau,nope", "--no-run"])


def test_screenshot_is_not_blank(rendered, tmp_path):
    _, out, _ = rendered
    pixels = screenshot(out, tmp_path / "report.png", width=1400, height=3000)
    assert (tmp_path / "report.png").stat().st_size > 50_000
    assert pixels.shape[0] >= 2000 and pixels.std() > 0.05


def test_execute_notebook_for_real(tmp_path):
    """A two-cell notebook in a real kernel: its working folder, its environment, a cell that raises."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("assert 1 == 2, 'a graded check that fails'"),
            new_code_cell(
                "import os\nfrom coursekit.summary import save_summary\n"
                "save_summary({'lab': 'nmt', 'cwd': os.getcwd(), 'score': os.environ['LUONG_SCORE'],\n"
                "              'backend': os.environ['MPLBACKEND']})"
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )
    notebook = tmp_path / "solutions" / "nmt_luong" / "nmt_luong.ipynb"
    notebook.parent.mkdir(parents=True)
    nbformat.write(nb, str(notebook))
    status = report.run_one(
        report.RUNS["luong-dot"],
        "smoke",
        runs_dir=tmp_path / "runs",
        checkpoint_dir=tmp_path / "c",
        root=tmp_path,
        log=None,
    )
    workdir = tmp_path / "runs" / "luong-dot"
    assert status["status"] == "ok", status
    assert [(e["cell"], e["ename"]) for e in status["cell_errors"]] == [(1, "AssertionError")]
    assert "a graded check that fails" in status["cell_errors"][0]["traceback"]
    summary = report.load_summary(workdir)
    assert summary == {
        "lab": "nmt",
        "cwd": str(workdir.resolve()),
        "score": "dot",
        "backend": "Agg",
        "run": "luong-dot",
        "profile": "smoke",
    }
    assert (workdir / "nmt_luong.ipynb").is_file() and (workdir / "kernel.log").is_file()
    (result,) = report.collect(["luong-dot"], tmp_path / "runs")
    assert result.ok and len(result.cell_errors) == 1


@pytest.mark.integration
def test_make_report_runs_every_lab_in_the_smoke_profile(tmp_path):
    """The real thing, in smoke: five notebooks run, every section of the page is filled from them."""
    out = tmp_path / "index.html"
    code = report.main(
        [
            "--profile",
            "smoke",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--checkpoint-dir",
            str(tmp_path / "checkpoints"),
            "--out",
            str(out),
        ]
    )
    assert code == 0, "every run should finish and save its summary"
    page = out.read_text(encoding="utf-8")
    for section in ("results", "curves", "attention", "sentiment", "about"):
        assert f'id="{section}"' in page, section
    for run in ("bahdanau", "luong-dot", "luong-general", "luong-concat", "sentiment"):
        summary = report.load_summary(tmp_path / "runs" / run)
        assert summary["profile"] == "smoke" and summary["history"], run
        assert run in page
    nmt_runs = [report.load_summary(tmp_path / "runs" / r) for r in ("bahdanau", "luong-general")]
    for summary in nmt_runs:
        assert {"bleu_greedy", "bleu_beam", "train_seconds", "parameters"} <= set(summary["metrics"])
        assert {"train_loss", "validation_loss", "validation_accuracy"} <= set(summary["history"][0])
    assert len(report.load_summary(tmp_path / "runs" / "sentiment")["top_words"]) == 10
    # a second run restores the NMT checkpoints instead of training again
    code = report.main(
        [
            "--profile",
            "smoke",
            "--only",
            "bahdanau",
            "--runs-dir",
            str(tmp_path / "runs"),
            "--checkpoint-dir",
            str(tmp_path / "checkpoints"),
            "--out",
            str(out),
        ]
    )
    assert code == 0 and report.load_summary(tmp_path / "runs" / "bahdanau")["metrics"]["restored"] is True
