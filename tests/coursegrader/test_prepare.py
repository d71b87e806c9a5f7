"""What every kernel of a class shares is prepared once, only where it pays, under a key that names
everything it depends on, and handed to each kernel as a read-only copy of its own."""

import os
import threading
from types import SimpleNamespace

import pytest

from coursegrader import prepare
from coursekit import profiles


def test_only_a_lab_with_a_code_answer_has_locked_cells_to_share():
    cells = prepare.prefix("sentiment")
    assert cells and all(c.cell_type == "code" for c in cells)
    assert "shared.once(" in "".join(c.source for c in cells)
    assert "LuongAttention" not in "".join(c.source for c in cells), "nothing of the answer or below it"
    assert prepare.prefix("nmt") is None and prepare.prefix("nmt_luong") is None


def test_the_key_names_the_profile_and_the_withheld_copy(monkeypatch, tmp_path):
    smoke, cpu = (profiles.select("sentiment", env={profiles.ENV_VAR: p}) for p in ("smoke", "cpu"))
    here = prepare.shared_dir("sentiment", smoke)
    assert here == prepare.shared_dir("sentiment", smoke) != prepare.shared_dir("sentiment", cpu)
    assert here.name.startswith("shared-sentiment-smoke-")
    withheld = prepare.withheld_data_dir()
    other = tmp_path / "withheld-other"
    other.mkdir()
    for name in ("SHA256SUMS", "WITHHELD.json"):
        (other / name).write_text((withheld / name).read_text() + "\n")
    monkeypatch.setattr(prepare, "withheld_data_dir", lambda: other)
    assert prepare.shared_dir("sentiment", smoke) != here, "values of another withheld copy are other values"


def test_each_kernel_gets_links_in_its_own_folder_never_the_manifest(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "kept.json").write_text("{}")
    (cache / "manifest.json").write_text('{"files": ["kept.json"]}')
    assert prepare.ready(cache) and not prepare.ready(tmp_path / "nothing") and not prepare.ready("")
    handoff = tmp_path / "handoff"
    handoff.mkdir()
    prepare.link_into(cache, handoff)
    assert sorted(p.name for p in (handoff / "shared").iterdir()) == ["kept.json"]
    assert os.stat(handoff / "shared").st_mode & 0o777 == 0o755


class FakeUnit(SimpleNamespace):
    pass


@pytest.mark.parametrize(("sentiment_units", "prepared"), [(2, []), (3, ["sentiment"])])
def test_the_preparing_run_starts_only_where_it_saves_more_than_it_costs(
    monkeypatch, tmp_path, sentiment_units, prepared
):
    calls, done = [], threading.Event()
    monkeypatch.setattr(prepare, "prepare", lambda assignment, run: calls.append(assignment) or done.set())
    monkeypatch.setattr(prepare, "shared_dir", lambda assignment, profile: tmp_path / f"shared-{assignment}")
    run = SimpleNamespace(shared={}, profiles={"sentiment": None, "nmt": None}, log=tmp_path / "log")
    todo = [FakeUnit(assignment="sentiment") for _ in range(sentiment_units)] + [FakeUnit(assignment="nmt")] * 5
    prepare.Preparing(run, todo).join()
    assert calls == prepared
    assert set(run.shared) == {"sentiment"}, "every sentiment unit is told where the values would be"
