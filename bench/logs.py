"""Logs: ContraLog (own BPE encoder and MiniLM) against DeepLog and template-count PCA / Isolation Forest.

Generated HDFS-like (sessions by block id) and BGL-like (20-line windows) logs, split chronologically
60/20/20 at their natural anomaly rate; every method fits on the training part's normal sessions, its
threshold comes from the validation part's normal sessions through the conformal calibrator
(``services.logs.evaluation``), and the test part is scored once. Then the default ContraLog model is
served by the real logs service (inline backend) and a client streams the HDFS-like test log through
``StreamDetect`` in 256-line messages (sessions keyed by the block-id pattern): lines/s end to end, and
the peak RSS of a fresh process that loads the model and stream-scores 20,000 lines (one replica).
Targets: ContraLog F1 above both baselines on both data sets, ≥ 0.95 F1 on HDFS-like, ≥ 5,000 lines/s.

Run: ``python bench/logs.py [--quick] [--skip-minilm]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (puts the repo on sys.path)
import numpy as np
import torch
from _common import print_table

RSS_PROBE = """
import resource, sys, numpy as np, torch
torch.set_num_threads(1)
from services.logs.detectors.contralog import ContraLogDetector
from services.logs.data import generated_hdfs
detector = ContraLogDetector.load(sys.argv[1])
lines = [l for s in generated_hdfs(1300, seed=7).sessions for l in s.split("\\n")][:20000]
state = detector.initial_stream_state()
for i in range(0, len(lines), 256):
    rows = np.array([[l.split(" blk_")[1].split()[0] if " blk_" in l else "", l] for l in lines[i:i + 256]], object)
    _, state = detector.stream_step(rows, state, False)
peak = [line for line in open("/proc/self/status") if line.startswith("VmHWM")]  # not inherited, unlike ru_maxrss
print(int(peak[0].split()[1]) / 1024 if peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def methods(skip_minilm: bool, steps: int) -> dict:  # type: ignore[type-arg]
    """name → (fit(sessions) -> model, score(model, sessions) -> scores)."""
    from services.logs.baselines import DeepLog, TemplateCountModel
    from services.logs.detectors.contralog import ContraLogDetector

    table = {
        "ContraLog (BPE encoder)": (lambda x: ContraLogDetector({"train_steps": steps}).fit(x), None),
        "ContraLog (MiniLM encoder)": (
            lambda x: ContraLogDetector({"train_steps": steps, "message_encoder": "minilm"}).fit(x), None),
        "DeepLog (Drain3 + LSTM)": (lambda x: DeepLog().fit(x), None),
        "PCA on template counts": (lambda x: TemplateCountModel("pca").fit(x), None),
        "IForest on template counts": (lambda x: TemplateCountModel("iforest").fit(x), None),
    }
    if skip_minilm:
        del table["ContraLog (MiniLM encoder)"]
    return {name: (fit, lambda m, x: m.score(x)) for name, (fit, _) in table.items()}


def stream_throughput(model_dir: Path, sessions: np.ndarray) -> float:
    """Lines/s of StreamDetect over loopback gRPC (service in this process, inline backend, 1 torch thread)."""
    import asyncio
    import shutil

    import grpc

    from polyad.logs.v1 import logs_pb2 as pb
    from polyad.logs.v1 import logs_pb2_grpc as pb_grpc
    from services.core.app import start
    from services.core.backends import BackendSettings
    from services.logs.config import LogsSettings
    from services.logs.data import HDFS_BLOCK_PATTERN

    lines = [line for s in sessions for line in s.split("\n")]
    rng = np.random.default_rng(0)
    lines = [lines[i] for i in np.argsort(np.arange(len(lines)) + rng.uniform(0, 200, len(lines)))]  # interleave
    store = Path(tempfile.mkdtemp(prefix="polyad-bench-logs-"))
    shutil.copytree(model_dir, store / "logs" / "contralog" / "v1")
    (store / "logs" / "contralog" / "LATEST").write_text("v1")

    async def run() -> float:
        settings = LogsSettings(address="127.0.0.1:0", store_root=str(store), backend=BackendSettings())
        service = await start("logs", settings)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            stub = pb_grpc.LogsServiceStub(channel)

            async def requests():  # type: ignore[no-untyped-def]
                for i in range(0, len(lines), 256):
                    chunk = [pb.LogLine(text=x.encode()) for x in lines[i:i + 256]]
                    yield pb.StreamDetectRequest(lines=chunk, session_pattern=HDFS_BLOCK_PATTERN)

            started, scored = time.perf_counter(), 0
            async for reply in stub.StreamDetect(requests()):
                scored += len(reply.lines)
            elapsed = time.perf_counter() - started
        await service.stop()
        return scored / elapsed

    return asyncio.run(run())


def main() -> None:
    from services.core.store import CALIBRATION_FILE
    from services.logs.data import generated_bgl, generated_hdfs
    from services.logs.evaluation import evaluate_method

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small data sets and short training")
    parser.add_argument("--skip-minilm", action="store_true", help="leave out the MiniLM arm (slow on CPU)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    n_hdfs, n_bgl, steps = (2000, 40_000, 200) if args.quick else (6000, 120_000, 600)
    datasets = [generated_hdfs(n_hdfs, seed=1), generated_bgl(n_bgl, seed=1)]
    rows, default_model = [], None
    for dataset in datasets:
        for name, (fit, score) in methods(args.skip_minilm, steps).items():
            captured = {}

            def fit_and_keep(x, fit=fit, captured=captured):  # type: ignore[no-untyped-def]
                captured["model"] = fit(x)
                return captured["model"]

            row = evaluate_method(fit_and_keep, score, dataset)
            if dataset is datasets[0] and name.startswith("ContraLog (BPE"):
                default_model = captured["model"]
            rows.append([dataset.name, name, *(f"{row[k]:.3f}" for k in ("precision", "recall", "f1", "auprc")),
                         f"{row['fit_s']:.0f}", f"{row['lines_per_s']:.0f}"])
            print(f"  {dataset.name} / {name}: F1 {row['f1']:.3f} AUPRC {row['auprc']:.3f} "
                  f"({int(row['test_anomalies'])} anomalous of {int(row['test_sessions'])})", flush=True)
    test = datasets[0].split()[2]
    with tempfile.TemporaryDirectory() as folder:
        from safetensors.numpy import save_file

        default_model.save(folder)
        save_file({"calibration_scores": np.sort(default_model.score(datasets[0].split()[1].normal())).astype(
            np.float64)}, str(Path(folder) / CALIBRATION_FILE))
        rate = stream_throughput(Path(folder), test.sessions)
        root = Path(__file__).resolve().parents[1]
        probe = subprocess.run([sys.executable, "-c", RSS_PROBE, folder], cwd=root, check=True,
                               capture_output=True, text=True)
        rss = float(probe.stdout.strip().splitlines()[-1])
    rows.append(["hdfs-like", "StreamDetect, default ContraLog", "", "", "", "", "", f"{rate:.0f}"])
    print_table(
        "Generated logs: chronological 60/20/20 split, natural anomaly rate, threshold from validation normal "
        f"sessions (conformal, alpha 0.002); streaming replica peak RSS {rss:.0f} MiB",
        ["data set", "method", "precision", "recall", "F1", "AUPRC", "fit s", "lines/s"],
        rows,
    )


if __name__ == "__main__":
    main()
