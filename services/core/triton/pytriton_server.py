"""Serve a Polyad Triton model repository with a real Triton server from PyPI's nvidia-pytriton (CPU).

Runs *inside the pytriton environment* (numpy < 2; see ``scripts/make_pytriton_env.sh``), so it
imports nothing from Polyad. pytriton's bundled Triton has no libtorch backend; instead every
``<model>/<n>/model.pt`` of the repository is loaded here with ``torch.jit.load`` and bound to Triton
as version ``n`` of ``<model>``, with the inputs, outputs and batch size of ``<model>/config.pbtxt``.
Triton itself (HTTP, gRPC, dynamic batching, the KServe v2 protocol) is the real server binary.

    LD_LIBRARY_PATH=<python lib dir> bench/.venvs/pytriton/bin/python services/core/triton/pytriton_server.py \\
        --repository DIR --grpc-port 8001 --http-port 8000 --metrics-port 8002
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from google.protobuf import text_format
from pytriton.decorators import batch
from pytriton.model_config import DynamicBatcher, ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig
from tritonclient.grpc import model_config_pb2 as mc

log = logging.getLogger("polyad.pytriton")

NUMPY_TYPES = {
    mc.TYPE_BOOL: np.bool_, mc.TYPE_UINT8: np.uint8, mc.TYPE_INT32: np.int32, mc.TYPE_INT64: np.int64,
    mc.TYPE_FP16: np.float16, mc.TYPE_FP32: np.float32, mc.TYPE_FP64: np.float64,
}


def read_config(model_dir: Path) -> mc.ModelConfig:
    """``config.pbtxt`` of one model directory."""
    return text_format.Parse((model_dir / "config.pbtxt").read_text(), mc.ModelConfig())


def make_infer(module: torch.jit.ScriptModule, config: mc.ModelConfig) -> Callable[..., dict[str, np.ndarray]]:
    """A batched inference callable: named numpy inputs (batch first) → named numpy outputs."""
    inputs = [tensor.name for tensor in config.input]
    outputs = [(tensor.name, tuple(tensor.dims), NUMPY_TYPES[tensor.data_type]) for tensor in config.output]

    @batch
    def infer(**arrays: np.ndarray) -> dict[str, np.ndarray]:
        with torch.inference_mode():
            results = module(*(torch.from_numpy(np.ascontiguousarray(arrays[name])) for name in inputs))
        results = results if isinstance(results, tuple | list) else (results,)
        return {
            name: result.numpy().astype(dtype, copy=False).reshape(len(result), *dims)
            for (name, dims, dtype), result in zip(outputs, results, strict=True)
        }

    return infer


def bind_repository(triton: Triton, repository: Path) -> list[str]:
    """Bind every version of every model in ``repository``; returns ``name/version`` strings."""
    bound = []
    for model_dir in sorted(p for p in repository.iterdir() if (p / "config.pbtxt").is_file()):
        config = read_config(model_dir)
        for version_dir in sorted((p for p in model_dir.iterdir() if p.name.isdigit()), key=lambda p: int(p.name)):
            module = torch.jit.load(str(version_dir / "model.pt"), map_location="cpu").eval()
            triton.bind(
                model_name=config.name,
                model_version=int(version_dir.name),
                infer_func=make_infer(module, config),
                inputs=[Tensor(name=t.name, dtype=NUMPY_TYPES[t.data_type], shape=tuple(t.dims)) for t in config.input],
                outputs=[Tensor(name=t.name, dtype=NUMPY_TYPES[t.data_type], shape=tuple(t.dims))
                         for t in config.output],
                config=ModelConfig(max_batch_size=config.max_batch_size,
                                   batcher=DynamicBatcher(max_queue_delay_microseconds=1000)),
                strict=True,
            )
            bound.append(f"{config.name}/{version_dir.name}")
    return bound


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, bind the repository and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Serve a Polyad Triton model repository with pytriton.")
    parser.add_argument("--repository", required=True, type=Path)
    parser.add_argument("--grpc-port", type=int, default=8001)
    parser.add_argument("--http-port", type=int, default=8000)
    parser.add_argument("--metrics-port", type=int, default=8002)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    torch.set_num_threads(args.threads)
    config = TritonConfig(grpc_port=args.grpc_port, http_port=args.http_port, metrics_port=args.metrics_port,
                          grpc_address="127.0.0.1", http_address="127.0.0.1", metrics_address="127.0.0.1")
    with Triton(config=config) as triton:
        log.info("bound %s", ", ".join(bind_repository(triton, args.repository)) or "no models")
        triton.serve()


if __name__ == "__main__":
    main()
