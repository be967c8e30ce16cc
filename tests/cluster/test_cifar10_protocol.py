"""The CIFAR-10 comparison's whole path on CPU, offline: the sweep file as it is, run with a
smoke override, then ``ganzoo table``.

The data are a tiny CIFAR-10 in torchvision's on-disk layout (``cifar-10-batches-py/``:
``data_batch_1`` .. ``data_batch_5``, ``test_batch``, ``batches.meta``, pickled dicts with
bytes keys as in the real files) and the Inception weights a randomly initialised state dict
of torch-fidelity's ``FeatureExtractorInceptionV3`` saved where ``$GANZOO_INCEPTION_WEIGHTS``
points: its numbers are NOT reference numbers. The smoke override keeps the protocol of
``experiments/cifar10/_base.yaml`` (extractor, reference split, metrics) and shrinks only its
sizes: 6 D steps of 10 images, and 10 samples against 10 of the 30 training images
(InceptionV3 takes 0.25 s per image on one CPU thread here, and each process spends 7-10 s
importing torch and Lightning; the paper protocol's 50,000 samples are for a GPU).
Without the data or the weights a run stops with one line saying what to fetch and where.
"""

from __future__ import annotations

import copy
import json
import os
import pickle
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
import yaml

from ganzoo.__main__ import bench_command
from ganzoo.cli import main
from ganzoo.data import GANDataModule
from ganzoo.errors import DataNotFoundError
from ganzoo.metrics.inception import INCEPTION_ENV, INCEPTION_FILE
from tests.cluster.helpers import ROOT, base_env

SWEEP = "experiments/sweeps/cifar10_compare.yaml"
PER_BATCH, TEST = 6, 10  # 30 training images in 5 files, 10 test images


def write_cifar(root: Path) -> Path:
    """A tiny CIFAR-10 in torchvision's layout, class-balanced, seeded."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [(f"data_batch_{i}", PER_BATCH) for i in range(1, 6)] + [("test_batch", TEST)]
    for name, n in names:
        entry = {b"batch_label": name.encode(), b"labels": [int(c) for c in np.arange(n) % 10],
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]}
        (folder / name).write_bytes(pickle.dumps(entry))
    meta = {b"label_names": [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog",
                             b"frog", b"horse", b"ship", b"truck"], b"num_cases_per_batch": PER_BATCH}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))
    return root


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory) -> Path:
    """torch-fidelity's InceptionV3 with its random initial weights, as a state dict file."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with (mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None),
          mock.patch("torch_fidelity.feature_extractor_inceptionv3.load_state_dict_from_url")):
        torch.manual_seed(0)
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"])
    path = tmp_path_factory.mktemp("inception") / INCEPTION_FILE
    torch.save(net.state_dict(), path)
    return path


def smoke_callbacks() -> str:
    """The base's callbacks with the evaluation's protocol kept and its sizes shrunk."""
    base = yaml.safe_load((ROOT / "experiments/cifar10/_base.yaml").read_text())
    callbacks = copy.deepcopy(base["trainer"]["callbacks"])
    for callback in callbacks:
        args = callback.setdefault("init_args", {})
        args["every_n_epochs"] = 0  # only at the end
        if callback["class_path"].endswith("EvaluationCallback"):
            assert (args["extractor"], args["reference_split"]) == ("inception", "train")
            args.update(num_samples=10, num_real=10, batch_size=10)
    return json.dumps(callbacks)


def test_the_sweep_and_the_table_run_offline_with_the_inception_protocol(
        tmp_path, inception_weights, monkeypatch, capsys):
    """``ganzoo sweep`` and ``ganzoo table`` run in this process (their runs are
    subprocesses, as always), which saves two interpreter start-ups."""
    data = write_cifar(tmp_path / "data")
    env = base_env(**{INCEPTION_ENV: str(inception_weights), "GANZOO_OFFLINE": "1",
                      "GANZOO_CACHE": str(tmp_path / "cache")})
    monkeypatch.chdir(ROOT)
    for key in [k for k in os.environ if k not in env]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    smoke = [f"--data.root={data}", "--data.batch_size=10", "--budget.max_images=60",
             "--model.init_args.g_width=8", "--model.init_args.d_width=8",
             "--trainer.logger=false", "--trainer.enable_progress_bar=false",
             "--trainer.enable_model_summary=false", f"--trainer.callbacks={smoke_callbacks()}",
             "--seed_everything=0"]
    # the grid's first 4 points are WGAN-gp x 3 seeds and ConditionalGAN x 1; one seed here
    status = bench_command(["sweep", SWEEP, "--count", "4", "--workers", "2", "--threads", "1",
                            "--runs-dir", str(tmp_path / "runs"), "--", *smoke])
    logs = "".join(p.read_text()[-2000:] for p in (tmp_path / "runs").rglob("stdout.log"))
    assert status == 0, capsys.readouterr().out + logs
    runs = sorted(p.parent for p in (tmp_path / "runs" / "cifar10").glob("*/record.json"))
    assert len(runs) == 2
    records = [json.loads((r / "record.json").read_text()) for r in runs]
    assert sorted(r["variant"] for r in records) == ["ConditionalGAN", "WGAN-gp"]
    for record in records:
        assert record["status"] == "finished" and record["progress"]["images_seen"] == 60
        final = record["final"]
        assert {"fid", "is", "kid", "precision", "recall", "density", "coverage"} <= set(
            final["metrics"])
        assert "label_accuracy" not in final["metrics"]  # not in the protocol: no classifier
        assert (final["protocol"]["extractor"], final["protocol"]["reference_split"],
                final["protocol"]["num_real"], final["protocol"]["num_fake"]) == (
                    "inception", "train", 10, 10)
    assert not (tmp_path / "cache" / "classifiers").exists()

    assert bench_command(["table", str(tmp_path / "runs" / "cifar10"), "--out",
                          str(tmp_path / "results"), "--no-wandb"]) == 0
    text = (tmp_path / "results" / "cifar10" / "table.md").read_text()
    protocol = [line for line in text.splitlines() if line.startswith("- Protocol:")]
    assert len(protocol) == 1, text
    assert "extractor `inception`" in protocol[0] and "10 generated vs 10 real images of the " \
        "`train` split" in protocol[0], protocol
    assert "ConditionalGAN" in text and "WGAN-gp" in text


def test_without_the_data_or_the_weights_a_run_is_one_line_saying_what_to_fetch(
        tmp_path, monkeypatch, capsys):
    with pytest.raises(DataNotFoundError) as err:
        GANDataModule(dataset="cifar10", root=str(tmp_path / "nothing")).setup()
    print(err.value)
    assert str(err.value).startswith(
        f"data.dataset: 'cifar10' files not found under {tmp_path}/nothing/cifar-10-batches-py; "
        f"download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz and unpack it in "
        f"{tmp_path}/nothing/ (it holds cifar-10-batches-py/), or set data.download=true")

    data = write_cifar(tmp_path / "data")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.delenv(INCEPTION_ENV, raising=False)
    monkeypatch.setenv("GANZOO_OFFLINE", "1")
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--config", "experiments/dcgan_cifar10.yaml", f"--data.root={data}",
              "--data.batch_size=10", f"--runs_dir={tmp_path / 'runs'}", "--trainer.logger=false"])
    line = capsys.readouterr().err.strip().splitlines()[-1]
    print(line)
    hub = tmp_path / "torch_home" / "hub" / "checkpoints" / INCEPTION_FILE
    assert exit_info.value.code == 2
    assert line == (
        f"ganzoo: error: weights_path: Inception weights {INCEPTION_FILE} not found and downloads "
        f"are off ($GANZOO_OFFLINE=1); put the file at {hub} or set weights_path / "
        f"${INCEPTION_ENV} to it (from https://github.com/toshas/torch-fidelity/releases/download/"
        f"v0.2.0/{INCEPTION_FILE})")
