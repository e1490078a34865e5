"""A model factory named by a user or by a saved model's model.json: only a Python function or an
nn.Module class of a package is called; Python's own library, compiled callables and torch's
functions are refused before any call (a downloaded folder names its factory)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest
import torch

from systolic.errors import SystolicError
from systolic.pruning.factory import UserModelError, load_factory


@pytest.mark.parametrize(
    "spec",
    ["os:abort", "sys:exit", "builtins:breakpoint", "builtins:print", "torch:rand", "os:getcwd"],
)
def test_system_callables_are_never_called(spec: str) -> None:
    with pytest.raises(UserModelError, match=r"not a model factory|is a class but not"):
        load_factory(spec)


def test_a_saved_model_cannot_name_a_system_callable(tmp_path: Path) -> None:
    from systolic.pruning.depgraph_io import FORMAT, VERSION, load_pruned

    folder = tmp_path / "m"
    folder.mkdir()
    doc = {"format": FORMAT, "version": VERSION, "factory": "os:abort", "input_shape": [3, 8, 8]}
    doc |= {"history": [], "weights": "weights.pt", "weights_sha256": "0" * 64, "meta": {}}
    torch.save({}, folder / "weights.pt")
    doc["weights_sha256"] = hashlib.sha256((folder / "weights.pt").read_bytes()).hexdigest()
    (folder / "model.json").write_text(json.dumps(doc))
    with pytest.raises(
        SystolicError,
        match=r"model\.json: factory os:abort: a builtin_function_or_method is not a model factory",
    ) as err:
        load_pruned(folder)
    assert "\n" not in str(err.value)


def test_a_package_function_and_a_module_class_are_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mynets.py").write_text(
        "from torch import nn\n"
        "def small():\n    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n        super().__init__(); self.c = nn.Conv2d(3, 4, 3)\n"
        "    def forward(self, x):\n        return self.c(x)\n"
        "class NotAModel:\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("mynets", None)
    assert load_factory("mynets:small").module is not None
    assert load_factory("mynets:Net").module is not None
    with pytest.raises(UserModelError, match=r"is a class but not a torch\.nn\.Module"):
        load_factory("mynets:NotAModel")
