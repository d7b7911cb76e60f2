"""A Triton model repository of exported detector versions.

Layout (Triton's): ``<root>/<model>/config.pbtxt`` and ``<root>/<model>/<n>/model.pt``, with
``<model> = <service>-<detector>`` and ``n = 1, 2, ...`` one per exported model-store version; each
version folder also holds ``polyad.json`` naming the store version it came from. Tensor names follow
the libtorch backend's ``<name>__<index>`` convention (``images__0`` → ``scores__0``,
``anomaly_map__1``); batch axes are implicit (``max_batch_size``), and scalar-per-item outputs are
``dims: [1]`` with ``reshape { shape: [] }``. Versions are written to a hidden folder, then renamed.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.core.contract import Detector, TensorGraph
from services.core.store import StoredModel
from services.core.triton.export import export_graph, save_traced

__all__ = ["MODEL_FILE", "SOURCE_FILE", "RepositoryVersion", "export_version", "find_version", "model_name",
           "read_config", "tensor_names"]

MODEL_FILE = "model.pt"
SOURCE_FILE = "polyad.json"
CONFIG_FILE = "config.pbtxt"


@dataclass(frozen=True)
class RepositoryVersion:
    """One exported version: Triton model name and integer version, and the store version behind it."""

    name: str
    version: int
    store_version: str
    path: Path


def model_name(service: str, detector: str) -> str:
    """The Triton model name of a detector: ``<service>-<detector>``."""
    return f"{service}-{detector}"


def tensor_names(names: list[str]) -> list[str]:
    """``<name>__<index>`` for each name (the libtorch backend's convention)."""
    return [f"{name}__{index}" for index, name in enumerate(names)]


def _versions(root: Path, name: str) -> list[RepositoryVersion]:
    model_dir = root / name
    found = []
    for folder in model_dir.iterdir() if model_dir.is_dir() else ():
        source = folder / SOURCE_FILE
        if folder.name.isdigit() and source.is_file():
            found.append(RepositoryVersion(name, int(folder.name), json.loads(source.read_text())["store_version"],
                                           folder))
    return sorted(found, key=lambda v: v.version)


def find_version(root: str | Path, stored: StoredModel) -> RepositoryVersion | None:
    """The repository version exported from ``stored``, if any."""
    name = model_name(stored.service, stored.detector)
    return next((v for v in _versions(Path(root), name) if v.store_version == stored.version), None)


def config_text(name: str, graph: TensorGraph) -> str:
    """``config.pbtxt`` for a traced graph (Triton's ModelConfig in text format)."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    def tensors(kind: Any, specs: tuple[tuple[str, str, tuple[int, ...]], ...]) -> list[Any]:
        out = []
        for full, (_, datatype, dims) in zip(tensor_names([s[0] for s in specs]), specs, strict=True):
            tensor = kind(name=full, data_type=mc.DataType.Value(f"TYPE_{datatype}"), dims=list(dims) or [1])
            if not dims:
                tensor.reshape.SetInParent()  # dims [1] per item, delivered as a scalar
            out.append(tensor)
        return out

    config = mc.ModelConfig(
        name=name, platform="pytorch_libtorch", max_batch_size=graph.max_batch_size,
        input=tensors(mc.ModelInput, graph.inputs), output=tensors(mc.ModelOutput, graph.outputs),
    )
    config.dynamic_batching.max_queue_delay_microseconds = 1000
    return text_format.MessageToString(config)


def read_config(root: str | Path, name: str) -> Any:
    """The ``tritonclient.grpc.model_config_pb2.ModelConfig`` of a model in the repository."""
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2 as mc

    return text_format.Parse((Path(root) / name / CONFIG_FILE).read_text(), mc.ModelConfig())


def export_version(root: str | Path, stored: StoredModel, detector_cls: type[Detector]) -> RepositoryVersion:
    """Export ``stored`` as the next version of its model (idempotent: an exported version is reused)."""
    existing = find_version(root, stored)
    if existing is not None:
        return existing
    root, name = Path(root), model_name(stored.service, stored.detector)
    traced, graph = export_graph(detector_cls.load(stored.path))
    model_dir = root / name
    model_dir.mkdir(parents=True, exist_ok=True)
    number = max((v.version for v in _versions(root, name)), default=0) + 1
    staging = model_dir / f".tmp-{number}-{secrets.token_hex(4)}"
    staging.mkdir()
    try:
        save_traced(traced, staging / MODEL_FILE)
        (staging / SOURCE_FILE).write_text(json.dumps({"store_version": stored.version, "detector": stored.detector,
                                                       "service": stored.service}))
        pointer = model_dir / f".{CONFIG_FILE}.{secrets.token_hex(4)}"
        pointer.write_text(config_text(name, graph))
        os.replace(pointer, model_dir / CONFIG_FILE)
        os.rename(staging, model_dir / str(number))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return RepositoryVersion(name, number, stored.version, model_dir / str(number))
