"""Every file ganzoo writes goes through ganzoo.atomic: a write that fails halfway (a full disk,
simulated by making it raise) leaves the previous file intact and no temporary file behind."""

import errno
import json

import pytest
import torch

import ganzoo.atomic as atomic
from ganzoo.atomic import atomic_path, write_json_atomic, write_text_atomic
from ganzoo.runs.records import write_json_atomic as write_record


def disk_full(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_a_failed_text_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "table.md"
    write_text_atomic(path, "old table\n")

    def half_then_fail(self, text):  # writes part of the text, then the disk is full
        with open(self, "w") as fh:
            fh.write(text[:3])
        disk_full()

    monkeypatch.setattr(type(path), "write_text", half_then_fail)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomic(path, "new table that does not fit\n")
    monkeypatch.undo()
    assert path.read_text() == "old table\n" and leftovers(tmp_path) == []


@pytest.mark.parametrize("writer", [write_json_atomic, write_record], ids=["json", "record"])
def test_a_failed_json_write_keeps_the_previous_file(tmp_path, monkeypatch, writer):
    path = tmp_path / "record.json"
    writer(path, {"status": "running"})
    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OSError):
        writer(path, {"status": "finished", "big": list(range(1000))})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"status": "running"} and leftovers(tmp_path) == []


def test_a_failed_checkpoint_style_save_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "features.pt"
    with atomic_path(path) as tmp:
        torch.save({"x": torch.ones(3)}, tmp)

    def save_then_fail(obj, f):
        with open(f, "wb") as fh:
            fh.write(b"PK\x03\x04 partial")
        disk_full()

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(OSError):
        with atomic_path(path) as tmp:
            torch.save({"x": torch.zeros(3)}, tmp)
    monkeypatch.undo()
    assert torch.equal(torch.load(path)["x"], torch.ones(3)) and leftovers(tmp_path) == []


def test_the_table_survives_a_failed_rewrite(tmp_path, monkeypatch):
    from ganzoo.bench.table import write_table
    from tests.bench.test_results_table import record

    record(tmp_path, "DCGAN", 0, fid=10.0)
    out = write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)["b"]
    before = (out / "table.md").read_text()
    record(tmp_path, "DCGAN", 1, fid=20.0)
    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OSError):
        write_table([tmp_path / "runs"], out_root=tmp_path / "results", use_wandb=False)
    monkeypatch.undo()
    assert (out / "table.md").read_text() == before and leftovers(out) == []
