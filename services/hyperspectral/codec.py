"""Decoding uploaded bytes (``.mat``, ``.npy``, an ENVI pair in a ``.zip``) into a cube ``(H, W, B)``.

Every failure is an :class:`~services.core.errors.InvalidInputError` saying what was expected.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np

from services.core.errors import InvalidInputError, LimitExceededError
from services.hyperspectral.loaders import Cube, read_envi, read_mat, read_npy

__all__ = ["SUPPORTED", "decode_upload", "encode_npy"]

SUPPORTED = ".mat, .npy, or a .zip holding an ENVI .hdr with its data file"
_MAX_ZIP_MEMBERS = 16


def _write_zip(data: bytes, folder: Path, max_bytes: int) -> Path:
    """Extract a zip's flat members safely into ``folder``; return the one ``.hdr``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as error:
        raise InvalidInputError(f"the upload is not a valid zip; expected {SUPPORTED}", "file") from error
    members = [m for m in archive.infolist() if not m.is_dir()]
    if len(members) > _MAX_ZIP_MEMBERS or sum(m.file_size for m in members) > max_bytes:
        raise LimitExceededError(f"the zip is too large (at most {_MAX_ZIP_MEMBERS} files, {max_bytes} bytes)", "file")
    for member in members:
        name = PurePosixPath(member.filename).name
        if not name or name.startswith("."):
            continue
        (folder / name).write_bytes(archive.read(member))
    headers = sorted(folder.glob("*.hdr"))
    if len(headers) != 1:
        raise InvalidInputError(f"the zip must hold exactly one ENVI .hdr; found {len(headers)}", "file")
    return headers[0]


def decode_upload(data: bytes, filename: str, variable: str | None = None, map_variable: str | None = None,
                  max_bytes: int = 1 << 30) -> Cube:
    """A cube from uploaded bytes, chosen by ``filename``'s extension (``.mat``, ``.npy``, ``.zip``)."""
    if not data:
        raise InvalidInputError("the upload is empty", "file")
    if len(data) > max_bytes:
        raise LimitExceededError(f"the upload has {len(data)} bytes; at most {max_bytes} are accepted", "file")
    suffix = Path(filename or "").suffix.lower()
    if suffix not in (".mat", ".npy", ".zip"):
        raise InvalidInputError(f"unknown file type {suffix or '(none)'!r}; expected {SUPPORTED}", "file")
    with tempfile.TemporaryDirectory(prefix="polyad-hsi-") as tmp:
        folder = Path(tmp)
        try:
            if suffix == ".npy":
                return read_npy(io.BytesIO(data))  # type: ignore[arg-type]
            if suffix == ".mat":
                path = folder / "upload.mat"
                path.write_bytes(data)
                return read_mat(path, variable, map_variable)
            return read_envi(_write_zip(data, folder, max_bytes))
        except InvalidInputError:
            raise
        except (ValueError, OSError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile) as error:
            raise InvalidInputError(f"could not read the {suffix} upload ({error}); expected {SUPPORTED}",
                                    "file") from error
        except Exception as error:  # spectral / scipy / h5py raise their own types on corrupt files
            if type(error).__module__.split(".")[0] in {"spectral", "scipy", "h5py", "numpy"}:
                raise InvalidInputError(f"could not read the {suffix} upload ({error}); expected {SUPPORTED}",
                                        "file") from error
            raise


def encode_npy(cube: np.ndarray) -> bytes:
    """The ``.npy`` bytes of a cube (for clients and tests)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(cube), allow_pickle=False)
    return buffer.getvalue()
