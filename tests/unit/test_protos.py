"""The generated protobuf code is current, and the schemas pass buf's STANDARD lint."""

import filecmp
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts.gen_protos import ROOT, generate

BUF = ROOT / "node_modules" / ".bin" / "buf"


def test_generated_code_is_not_stale(tmp_path: Path) -> None:
    fresh = generate(tmp_path)
    assert fresh, "no .proto produced code"
    for path in fresh:
        committed = ROOT / path.relative_to(tmp_path)
        assert committed.exists(), f"{committed} is missing: run `make protos`"
        assert filecmp.cmp(path, committed, shallow=False), f"{committed} is stale: run `make protos`"
    committed_files = {p.relative_to(ROOT) for p in (ROOT / "polyad").rglob("*_pb2*.py*")}
    assert committed_files == {p.relative_to(tmp_path) for p in fresh}, "generated files without a .proto"


def test_buf_lint_standard() -> None:
    if not BUF.exists():
        if shutil.which("npm") is None:
            pytest.skip("npm is not installed, so buf cannot be installed (make lint-proto)")
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=ROOT, check=True, capture_output=True)
    result = subprocess.run([str(BUF), "lint"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
