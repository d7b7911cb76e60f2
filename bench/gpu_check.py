"""GPU replicas check (run it when a GPU machine is lent; CI never needs it).

    python bench/gpu_check.py [--store DIR] [--requests 20]

For every registered service it trains (or reuses) the default model, deploys it twice on Ray
Serve — ``num_gpus=0`` and ``num_gpus`` > 0 per replica — and prints, per detector, what the GPU
replica reports (the GPU ids Ray gave it, whether CUDA is visible, the devices its torch modules
sit on) and the median latency of one scoring call on each. A detector whose modules stay on
``cpu`` inside a GPU replica is reported as such: that is the finding, not a pass.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time


def _sample(service: str):  # type: ignore[no-untyped-def]
    """One request item per service, from the service's own bundled or generated data."""
    import numpy as np

    if service == "timeseries":
        return np.sin(np.arange(4096, dtype=np.float32) / 8.0)[:, None]
    if service == "vision":
        from services.vision.data import inspection_set

        return inspection_set("brick", n_train=8, n_test=0, seed=1).train_images[:8]
    return None


async def _latency(backend, item, requests: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        await backend.score(item)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


async def check(store_root: str, requests: int) -> int:
    import ray
    import torch

    from services.core import registry
    from services.core.backends import BackendSettings, make_backend
    from services.core.spec import load_object, service_specs
    from services.core.store import ModelStore

    if not torch.cuda.is_available():
        print("no CUDA device here: nothing to check (run this on a GPU machine)")
        return 0
    ray.init(include_dashboard=False, log_to_driver=False)
    gpus = float(ray.cluster_resources().get("GPU", 0))
    store = ModelStore(store_root)
    print(f"Ray sees {gpus:g} GPU(s); torch {torch.__version__}, {torch.cuda.get_device_name(0)}")
    print(f"{'service/detector':32} {'gpu ids':10} {'cuda':5} {'module devices':20} {'cpu ms':>8} {'gpu ms':>8}")
    for name, spec in service_specs().items():
        item = _sample(name)
        if item is None or not spec.default_model:
            print(f"{name:32} (no sample input in this script yet)")
            continue
        stored = load_object(spec.default_model)(store, progress=False)
        cls = registry.detector_class(name, stored.detector)
        cpu = make_backend(BackendSettings(kind="ray", num_cpus=1, num_gpus=0), stored, cls)
        gpu = make_backend(BackendSettings(kind="ray", num_cpus=1, num_gpus=min(1.0, gpus)), stored, cls)
        runtime = await gpu.handle.runtime.remote()
        cpu_ms, gpu_ms = await _latency(cpu, item, requests), await _latency(gpu, item, requests)
        print(f"{name + '/' + stored.detector:32} {','.join(runtime['gpu_ids']) or '-':10} {runtime['cuda']!s:5} "
              f"{','.join(runtime['module_devices']) or '-':20} {cpu_ms:8.1f} {gpu_ms:8.1f}")
        await cpu.close()
        await gpu.close()
    ray.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default=None, help="model store (default: a temporary one)")
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args(argv)
    store = args.store or tempfile.mkdtemp(prefix="polyad-gpu-check-")
    return asyncio.run(check(store, args.requests))


if __name__ == "__main__":
    sys.exit(main())
