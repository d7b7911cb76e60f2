"""Loading labelled graphs from files: an edge list + feature matrix + labels folder, or a PyG ``Data`` file.

- folder: ``edges.{txt,csv,tsv,edgelist}`` (``source target [time]`` per line), ``features.{csv,txt,tsv,npy}``
  (row ``i`` = node ``i``) and, optionally, ``labels.{txt,csv,npy}`` (0 normal, > 0 anomalous).
- ``.pt`` / ``.pth``: a ``torch_geometric.data.Data`` or a dict of tensors (``x``, ``edge_index``, optional
  ``y``, ``edge_time``), read with ``torch.load(weights_only=True)`` (PyG's storage classes allow-listed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from services.core.errors import InvalidInputError
from services.graph.batch import GraphBatch
from services.graph.graph_text import parse_edge_list, parse_labels, parse_matrix

__all__ = ["load_graph", "load_graph_folder", "load_pyg_file"]


def _find(folder: Path, stem: str, suffixes: tuple[str, ...], required: bool) -> Path | None:
    for suffix in suffixes:
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            return path
    if required:
        raise InvalidInputError(f"{folder} has no {stem} file (looked for {', '.join(stem + s for s in suffixes)})")
    return None


def load_graph_folder(folder: str | Path) -> GraphBatch:
    """A graph from ``edges.*``, ``features.*`` and optional ``labels.*`` in ``folder``."""
    folder = Path(folder)
    edges_path = _find(folder, "edges", (".txt", ".csv", ".tsv", ".edgelist"), True)
    features_path = _find(folder, "features", (".csv", ".txt", ".tsv", ".npy"), True)
    labels_path = _find(folder, "labels", (".txt", ".csv", ".npy"), False)
    edges, times = parse_edge_list(edges_path.read_bytes(), str(edges_path))  # type: ignore[union-attr]
    if features_path.suffix == ".npy":  # type: ignore[union-attr]
        x = np.load(features_path, allow_pickle=False).astype(np.float32)
    else:
        x = parse_matrix(features_path.read_bytes(), str(features_path))  # type: ignore[union-attr]
    y = None
    if labels_path is not None:
        y = (np.load(labels_path, allow_pickle=False) if labels_path.suffix == ".npy"
             else parse_labels(labels_path.read_bytes(), str(labels_path))).astype(np.int8)
    return GraphBatch(x=x, edge_index=edges, edge_time=times, y=y)


def load_pyg_file(path: str | Path) -> GraphBatch:
    """A graph from a saved PyG ``Data`` or dict of tensors (no pickle beyond PyG's allow-listed classes)."""
    import torch
    from torch_geometric.data import Data
    from torch_geometric.data.data import DataEdgeAttr, DataTensorAttr
    from torch_geometric.data.storage import GlobalStorage

    with torch.serialization.safe_globals([Data, DataEdgeAttr, DataTensorAttr, GlobalStorage]):
        try:
            loaded = torch.load(path, weights_only=True, map_location="cpu")
        except Exception as error:  # torch raises UnpicklingError / RuntimeError subclasses
            raise InvalidInputError(f"{path} is not a PyG Data or tensor-dict file: {error}") from error
    fields = loaded.to_dict() if isinstance(loaded, Data) else loaded
    if not isinstance(fields, dict) or "x" not in fields or "edge_index" not in fields:
        raise InvalidInputError(f"{path} must hold `x` (N, F) and `edge_index` (2, E) tensors")

    def array(key: str) -> np.ndarray | None:
        value = fields.get(key)
        return None if value is None else value.detach().cpu().numpy()

    x, edges, y = array("x"), array("edge_index"), array("y")
    return GraphBatch(x=x.astype(np.float32), edge_index=edges.astype(np.int64),  # type: ignore[union-attr]
                      edge_time=array("edge_time"), y=None if y is None else np.clip(y, 0, 127).astype(np.int8))


def load_graph(path: str | Path) -> GraphBatch:
    """A graph from a folder or a ``.pt`` file."""
    path = Path(path)
    if path.is_dir():
        return load_graph_folder(path)
    if path.suffix in (".pt", ".pth"):
        return load_pyg_file(path)
    raise InvalidInputError(f"{path}: expected a folder (edges + features [+ labels]) or a .pt PyG Data file")
