"""The versioned model store: ``<root>/<service>/<detector>/<version>/``.

Each version holds ``weights.safetensors`` and ``metadata.json`` (written by the detector) and
``calibration.safetensors`` (the conformal calibrator). Versions are immutable and written
atomically: everything goes to a hidden temporary directory that is renamed into place, and the
``LATEST`` pointer file is replaced with ``os.replace``. A write killed half way leaves only a
``.tmp-*`` directory behind, which readers ignore.
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from services.core.calibration import ConformalCalibrator
from services.core.contract import Detector
from services.core.errors import ModelNotFoundError

__all__ = ["CALIBRATION_FILE", "ModelStore", "StoredModel", "default_store_root"]

CALIBRATION_FILE = "calibration.safetensors"
LATEST_FILE = "LATEST"


def default_store_root() -> Path:
    """``$POLYAD_MODEL_STORE`` or ``~/.cache/polyad/models``."""
    return Path(os.environ.get("POLYAD_MODEL_STORE", Path.home() / ".cache" / "polyad" / "models"))


@dataclass(frozen=True)
class StoredModel:
    """A version on disk."""

    service: str
    detector: str
    version: str
    path: Path


def _new_version() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(3)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ModelStore:
    """Save and find detector versions under one root directory."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()

    def _detector_dir(self, service: str, detector: str) -> Path:
        return self.root / service / detector

    def save(
        self, service: str, detector: Detector, calibrator: ConformalCalibrator, version: str | None = None
    ) -> StoredModel:
        """Write a new immutable version atomically and point ``LATEST`` at it."""
        from safetensors.numpy import save_file

        version = version or _new_version()
        parent = self._detector_dir(service, detector.name)
        parent.mkdir(parents=True, exist_ok=True)
        final = parent / version
        if final.exists():
            raise FileExistsError(f"model version {final} exists; versions are immutable")
        staging = parent / f".tmp-{version}-{secrets.token_hex(4)}"
        staging.mkdir()
        try:
            detector.save(staging)
            save_file(calibrator.state_dict(), str(staging / CALIBRATION_FILE))
            for item in staging.iterdir():
                with open(item, "rb") as handle:
                    os.fsync(handle.fileno())
            os.rename(staging, final)
            _fsync_dir(parent)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._set_latest(parent, version)
        return StoredModel(service, detector.name, version, final)

    @staticmethod
    def _set_latest(parent: Path, version: str) -> None:
        pointer = parent / f".{LATEST_FILE}.{secrets.token_hex(4)}"
        pointer.write_text(version + "\n")
        os.replace(pointer, parent / LATEST_FILE)

    def versions(self, service: str, detector: str) -> list[str]:
        """Complete versions, oldest first (temporary directories are skipped)."""
        parent = self._detector_dir(service, detector)
        if not parent.is_dir():
            return []
        return sorted(p.name for p in parent.iterdir() if p.is_dir() and not p.name.startswith("."))

    def resolve(self, service: str, detector: str, version: str = "") -> StoredModel:
        """The named version, or the latest when ``version`` is empty."""
        parent = self._detector_dir(service, detector)
        if not version:
            pointer = parent / LATEST_FILE
            if not pointer.is_file():
                raise ModelNotFoundError(f"no trained {service}/{detector} model in {self.root}")
            version = pointer.read_text().strip()
        path = parent / version
        if version.startswith(".") or "/" in version or not path.is_dir():
            known = ", ".join(self.versions(service, detector)) or "none"
            raise ModelNotFoundError(f"{service}/{detector} has no version {version!r}; known: {known}")
        return StoredModel(service, detector, version, path)

    def load(self, stored: StoredModel, detector_cls: type[Detector]) -> tuple[Detector, ConformalCalibrator]:
        """Load the detector and its calibrator from a stored version."""
        from safetensors.numpy import load_file

        detector = detector_cls.load(stored.path)
        calibrator = ConformalCalibrator.from_state_dict(load_file(str(stored.path / CALIBRATION_FILE)))
        return detector, calibrator
