"""Export a detector's scoring graph to TorchScript, the format of Triton's ``pytorch_libtorch`` platform.

Which detectors export (``Detector.tensor_graph()`` is not None):

- ``vision.multi_ad``: uint8 images ``(N, S, S, 3)`` → scores ``(N,)`` and maps ``(N, S, S)`` is one pure
  tensor graph (frozen backbone, student, discrepancy, discriminator, fusion, blur, top-k mean).

Which do not, and why:

- ``timeseries.comet``: windowing, per-point folding and normalisation are data-dependent NumPy around
  the network, and its online adaptation (gradient steps on a per-stream codebook) is stateful; a
  stateless Triton model cannot serve ``update``/``stream_step``.
- ``vision.patchcore`` / ``vision.patch_flow``: their maps loop over query chunks whose number depends
  on the batch (nearest-neighbour search, flow passes); tracing would freeze that count.

TorchScript over ONNX: tracing needs nothing beyond torch, Triton's libtorch backend loads it natively,
and the pytriton environment loads it with the same torch build; ONNX would add ``onnx`` +
``onnxscript`` here and ``onnxruntime`` there. (``torch.jit`` is deprecated in favour of
``torch.export``, whose ``.pt2`` files Triton does not load yet.)
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from services.core.contract import Detector, TensorGraph

__all__ = ["NotExportableError", "export_graph", "load_traced", "run_traced", "save_traced"]


class NotExportableError(ValueError):
    """The detector's scoring is not a pure tensor graph (see the module docstring)."""


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence torch.jit's deprecation and tracer warnings (shapes are static by design here)."""
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        yield


def export_graph(detector: Detector) -> tuple[Any, TensorGraph]:
    """Trace the fitted detector's :class:`TensorGraph`; returns the TorchScript module and the graph."""
    import torch

    graph = detector.tensor_graph()
    if graph is None:
        raise NotExportableError(f"{detector.modality}.{detector.name} has no exportable tensor graph")
    with _quiet(), torch.no_grad():
        traced = torch.jit.trace(graph.module, graph.example, check_trace=False)
    return traced, graph


def save_traced(traced: Any, path: str | Path) -> None:
    """Write a traced module (``model.pt``)."""
    import torch

    with _quiet():
        torch.jit.save(traced, str(path))


def load_traced(path: str | Path) -> Any:
    """Read a ``model.pt`` back (CPU)."""
    import torch

    with _quiet():
        return torch.jit.load(str(path), map_location="cpu").eval()


def run_traced(traced: Any, *inputs: np.ndarray) -> list[np.ndarray]:
    """Run a traced module on numpy inputs (batch first); numpy outputs in graph order."""
    import torch

    with torch.inference_mode():
        out = traced(*(torch.from_numpy(np.ascontiguousarray(x)) for x in inputs))
    return [t.numpy() for t in (out if isinstance(out, tuple | list) else (out,))]
