"""Saving and loading pruned models: round trip, and one clear error per kind of bad file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from systolic.pruning.errors import PruningError
from systolic.pruning.io import load_model, save_model
from systolic.pruning.models import ShuffleDigitsNet, ShuffleSpec
from systolic.pruning.surgery import remove_channels
from systolic.pruning.train import predict


@pytest.fixture
def saved(slim_model, tmp_path: Path):
    pruned, kept = remove_channels(slim_model, {0: torch.arange(0, 16, 2), 2: torch.arange(5)})
    save_model(tmp_path / "m", pruned, kept, {"method": "test"})
    return pruned, kept, tmp_path / "m"


def test_round_trip(saved, digits) -> None:
    pruned, kept, path = saved
    model, kept2, meta = load_model(path)
    assert kept2 == kept and meta == {"method": "test"}
    assert model.spec == pruned.spec
    torch.testing.assert_close(predict(model, digits.x_test), predict(pruned, digits.x_test))
    doc = json.loads((path / "model.json").read_text())
    assert doc["spec"]["stages"][0]["out_channels"] == 8


def test_round_trip_shuffle(tmp_path: Path) -> None:
    model = ShuffleDigitsNet(ShuffleSpec(channels=12, bottleneck=6, groups=3)).eval()
    save_model(tmp_path, model)
    loaded, kept, _ = load_model(tmp_path)
    x = torch.rand(3, 1, 8, 8)
    assert kept == {}
    torch.testing.assert_close(loaded(x), model(x))


def _edit_json(path: Path, edit) -> None:
    doc = json.loads((path / "model.json").read_text())
    edit(doc)
    (path / "model.json").write_text(json.dumps(doc))


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(PruningError, match="no saved model"):
        load_model(tmp_path / "nothing")


def test_corrupt_json(saved) -> None:
    _, _, path = saved
    (path / "model.json").write_text("{not json")
    with pytest.raises(PruningError, match="corrupt"):
        load_model(path)


def test_foreign_json(saved) -> None:
    _, _, path = saved
    (path / "model.json").write_text('{"format": "something-else"}')
    with pytest.raises(PruningError, match="not a saved systolic pruned model"):
        load_model(path)


def test_truncated_weights(saved) -> None:
    _, _, path = saved
    data = (path / "weights.pt").read_bytes()
    (path / "weights.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(PruningError, match="does not match the hash"):
        load_model(path)


def test_architecture_mismatch(saved) -> None:
    _, _, path = saved

    def shrink(doc: dict) -> None:  # consistent JSON, but the weights are for 32 channels
        doc["spec"]["stages"][1]["out_channels"] = 31
        doc["kept_indices"]["stages.1"].pop()

    _edit_json(path, shrink)
    with pytest.raises(PruningError, match="do not match the architecture"):
        load_model(path)


def test_kept_map_mismatch(saved) -> None:
    _, _, path = saved
    _edit_json(path, lambda d: d["kept_indices"]["stages.0"].pop())
    with pytest.raises(PruningError, match=r"kept_indices of stages.0 lists 7 channels"):
        load_model(path)


def test_malformed_spec(saved) -> None:
    _, _, path = saved
    _edit_json(path, lambda d: d["spec"].pop("stages"))
    with pytest.raises(PruningError, match="malformed architecture"):
        load_model(path)


def test_code_in_the_weights_file_is_refused(saved) -> None:
    import hashlib

    _, _, path = saved
    # A pickle that is not plain tensors (here: a set) must not be unpickled.
    torch.save({"payload": {1, 2}}, path / "weights.pt")
    digest = hashlib.sha256((path / "weights.pt").read_bytes()).hexdigest()
    _edit_json(path, lambda d: d.update(weights_sha256=digest))
    with pytest.raises(PruningError, match=r"corrupt weights file|do not match the architecture"):
        load_model(path)


def test_equal_models_get_equal_weight_hashes(saved, tmp_path: Path) -> None:
    """Two saves of one model write the same bytes (e2e finds equal dense baselines by this
    hash), and no temporary file or folder is left next to them."""
    pruned, kept, path = saved
    save_model(tmp_path / "again", pruned, kept, {"method": "test"})
    first, again = (json.loads((p / "model.json").read_text()) for p in (path, tmp_path / "again"))
    assert first["weights_sha256"] == again["weights_sha256"]
    assert sorted(p.name for p in (tmp_path / "again").iterdir()) == ["model.json", "weights.pt"]
