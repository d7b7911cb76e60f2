"""Interop latency: the same Multi-AD detection through every way in, p50/p99 in one table.

One payload (``--images`` RGB uint8 crops of ``--size`` px; scores and anomaly maps back) is sent,
sequentially, through:

- native gRPC: ``GatewayService.Detect`` → vision service (inline backend);
- KServe v2 gRPC (``tritonclient.grpc``) → gateway → vision service (inline backend);
- KServe v2 REST (``tritonclient.http``, binary tensors) → gateway → vision service (inline backend);
- the Triton backend: ``GatewayService.Detect`` → vision service (backend ``triton``) → a real Triton
  server (PyPI's nvidia-pytriton, CPU, its own venv) running the exported TorchScript graph;
- for reference, ``tritonclient.grpc`` straight to that Triton server (the exported model alone).

The model is a small Multi-AD trained here on generated brick crops (serving cost, not accuracy, is
measured). Everything runs in this process on loopback, torch at one thread per server.

Run: ``python bench/interop.py [--calls 200] [--images 1] [--size 64]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import grpc
import numpy as np
from _common import percentiles_ms, print_table

SMALL_MULTI_AD = {"kd_steps": 30, "kd_crop": 64, "synthetic_per_image": 1, "disc_steps": 20, "disc_batch": 8,
                  "student_width": 16, "student_blocks": 1}


def timed(paths: dict[str, Callable[[], object]], n: int, warmup: int = 20) -> dict[str, list[float]]:
    """Seconds per call of each path, interleaved call by call (so load drifts hit every path alike)."""
    for call in paths.values():
        for _ in range(warmup):
            call()
    out: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(n):
        for name, call in paths.items():
            started = time.perf_counter()
            call()
            out[name].append(time.perf_counter() - started)
    return out


def train(root: Path, size: int) -> Path:
    """A model store with a small Multi-AD at ``size`` px."""
    from services.core.store import ModelStore
    from services.core.training import chronological_split, fit_and_store
    from services.vision.data import inspection_set
    from services.vision.detectors.multi_ad import MultiADDetector

    crops = inspection_set("brick", n_train=16, n_test=2, size=size, seed=0).train_images
    fit_and_store(ModelStore(root), "vision", MultiADDetector({**SMALL_MULTI_AD, "image_size": size}),
                  *chronological_split(crops, 0.25))
    return root


def main() -> None:
    import tritonclient.grpc as tgrpc
    import tritonclient.http as thttp

    from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
    from polyad.vision.v1 import vision_pb2 as pb
    from services.core.app import start
    from services.core.backends import BackendSettings
    from services.core.codecs import from_numpy
    from services.core.store import ModelStore
    from services.core.triton.launcher import ensure_pytriton_env, start_pytriton
    from services.core.triton.repository import export_version
    from services.vision.config import VisionSettings
    from services.vision.detectors.multi_ad import MultiADDetector
    from tests.support.loop import LoopThread
    from tests.support.services import start_gateway

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--images", type=int, default=1, help="images per request")
    parser.add_argument("--size", type=int, default=64, help="image side (also the model's size)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="polyad-interop-"))
    store = train(work / "store", args.size)
    stored = ModelStore(store).resolve("vision", "multi_ad")
    python, reason = ensure_pytriton_env()
    triton = None
    if python is not None:
        export_version(work / "triton", stored, MultiADDetector)
        triton = start_pytriton(work / "triton", python, log_path=work / "pytriton.log")
    else:
        print(f"Triton rows skipped: {reason}")

    loop = LoopThread()
    settings = {"address": "127.0.0.1:0", "store_root": str(store), "image_size": args.size}
    inline = loop.run(start("vision", VisionSettings(**settings, backend=BackendSettings())))
    gateway = start_gateway(loop, {"vision": f"127.0.0.1:{inline.port}"})
    services, gateways = [inline], [gateway]
    images = np.random.default_rng(0).integers(0, 256, size=(args.images, args.size, args.size, 3), dtype=np.uint8)
    native = gateway_pb2.DetectRequest(vision=pb.DetectRequest(images=[pb.Image(pixels=from_numpy(i)) for i in images]))
    g_in = tgrpc.InferInput("images", list(images.shape), "UINT8")
    g_in.set_data_from_numpy(images)
    h_in = thttp.InferInput("images", list(images.shape), "UINT8")
    h_in.set_data_from_numpy(images, binary_data=True)
    h_out = [thttp.InferRequestedOutput(name, binary_data=True) for name in ("scores", "anomaly_map")]
    g_out = [tgrpc.InferRequestedOutput(name) for name in ("scores", "anomaly_map")]
    g_chan = grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}")
    detect = gateway_pb2_grpc.GatewayServiceStub(g_chan).Detect
    kgrpc = tgrpc.InferenceServerClient(f"127.0.0.1:{gateway.grpc_port}")
    khttp = thttp.InferenceServerClient(f"127.0.0.1:{gateway.http_port}")
    paths: dict[str, Callable[[], object]] = {
        "native gRPC (GatewayService.Detect)": lambda: detect(native, timeout=30),
        "KServe v2 gRPC (tritonclient.grpc)": lambda: kgrpc.infer("vision-multi_ad", [g_in], outputs=g_out),
        "KServe v2 REST (tritonclient.http)": lambda: khttp.infer("vision-multi_ad", [h_in], outputs=h_out),
    }
    closing: list[Callable[[], object]] = [g_chan.close, kgrpc.close, khttp.close]
    if triton is not None:
        backend = BackendSettings(kind="triton", triton_url=triton.grpc_url,
                                  triton_model_repository=str(work / "triton"))
        on_triton = loop.run(start("vision", VisionSettings(**settings, backend=backend)))
        triton_gateway = start_gateway(loop, {"vision": f"127.0.0.1:{on_triton.port}"})
        services.append(on_triton)
        gateways.append(triton_gateway)
        t_chan = grpc.insecure_channel(f"127.0.0.1:{triton_gateway.grpc_port}")
        t_detect = gateway_pb2_grpc.GatewayServiceStub(t_chan).Detect
        direct = tgrpc.InferenceServerClient(triton.grpc_url)
        t_in = tgrpc.InferInput("images__0", list(images.shape), "UINT8")
        t_in.set_data_from_numpy(images)
        paths["Triton backend (Detect → service → Triton)"] = lambda: t_detect(native, timeout=30)
        paths["Triton server alone (tritonclient.grpc)"] = lambda: direct.infer("vision-multi_ad", [t_in],
                                                                                 model_version="1")
        closing += [t_chan.close, direct.close]
    results = timed(paths, args.calls)
    for close in closing:
        close()
    for running in gateways + services:
        loop.run(running.stop())
    loop.close()
    if triton is not None:
        triton.stop()

    rows = [[name, f"{p50:.2f}", f"{p99:.2f}"] for name, (p50, p99) in
            ((name, percentiles_ms(s)) for name, s in results.items())]
    print_table(
        f"Multi-AD on {args.images} x {args.size}x{args.size} RGB (scores + maps), {args.calls} sequential calls, ms",
        ["path", "p50", "p99"], rows,
    )


if __name__ == "__main__":
    main()
