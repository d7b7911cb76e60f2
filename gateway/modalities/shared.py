"""Pieces the modality modules share: reading one uploaded file, and unpacking a service's own answer."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request
from google.protobuf.message import Message
from starlette.datastructures import UploadFile

from polyad.gateway.v1 import gateway_pb2
from services.core.errors import InvalidInputError, LimitExceededError

__all__ = ["is_multipart", "read_upload", "unpack_answer"]

M = TypeVar("M", bound=Message)


def is_multipart(request: Request) -> bool:
    """Whether the body is a multipart form (else it is the file itself)."""
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def read_upload(request: Request, limit: int, too_big: str, empty: str, field: str = "",
                      text: bool = False) -> tuple[bytes, str]:
    """(bytes, the form's file name or "") of a multipart ``file`` field or the raw body.

    ``too_big`` (formatted with ``limit``) and ``empty`` are the input errors' messages, naming ``field``;
    ``text`` uploads that hold only whitespace count as empty.
    """
    if is_multipart(request):
        async with request.form(max_files=1, max_fields=16) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidInputError("multipart field 'file' is missing (or is not a file)", "file" if field else "")
            data, name = await upload.read(limit + 1), upload.filename or ""
    else:
        data, name = await request.body(), ""
    if len(data) > limit:
        raise LimitExceededError(too_big.format(limit=limit), field)
    if not (data.strip() if text else data):
        raise InvalidInputError(empty, field)
    return data, name


def unpack_answer(response: gateway_pb2.DetectResponse, answer: M) -> M:
    """The service's own ``DetectResponse`` inside a gateway answer (its ``other`` arm), unpacked into ``answer``."""
    if not response.other.Unpack(answer):
        raise InvalidInputError(f"unexpected answer type {response.other.type_url!r}")
    return answer
