"""The web console: static pages served from ``gateway/web`` and the one REST call they need beyond the API.

``GET /`` is the console's page, ``GET /web/<file>`` its scripts and styles (a fixed list of the package's
``.html``/``.js``/``.css``/``.svg`` files; nothing else under the folder is served). Every URL in the page is
relative, so the console works behind an Ingress path prefix. ``GET /v1/services/{modality}/model`` returns
a routed service's ``ModelInfo`` (versions, training summary, metrics) as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import FileResponse, JSONResponse
from google.protobuf import json_format
from starlette.exceptions import HTTPException

from gateway import schemas
from gateway.dataplane import DataPlane
from polyad.common.v1 import common_pb2

__all__ = ["WEB_DIR", "add_web_routes", "model_info_json"]

WEB_DIR = Path(__file__).with_name("web")
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
_PAGE_HEADERS = {**_HEADERS, "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                 "style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"}


def _assets() -> dict[str, Path]:
    """The files the console may serve, by name (read once: the package is immutable at run time)."""
    return {path.name: path for path in sorted(WEB_DIR.iterdir()) if path.suffix in _TYPES and path.is_file()}


def _json_field(text: str) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return text  # not JSON: shown as written


def model_info_json(info: common_pb2.ModelInfo) -> dict[str, Any]:
    """A ``ModelInfo`` as JSON, with its config and training summary parsed (proto field names)."""
    body = json_format.MessageToDict(info, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    body["config"] = _json_field(body.pop("config_json", ""))
    body["training_summary"] = _json_field(body.pop("training_summary_json", ""))
    return body


def add_web_routes(app: FastAPI, dataplane: DataPlane) -> None:
    """Register the console (``/``, ``/web/<file>``) and ``GET /v1/services/{modality}/model``."""
    assets = _assets()

    @app.get("/", include_in_schema=False)
    async def console() -> FileResponse:
        return FileResponse(assets["index.html"], media_type=_TYPES[".html"], headers=_PAGE_HEADERS)

    @app.get("/web/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        path = assets.get(name)
        if path is None:
            raise HTTPException(404, f"no console file {name!r}")
        return FileResponse(path, media_type=_TYPES[path.suffix], headers=_HEADERS)

    @app.get(
        "/v1/services/{modality}/model",
        tags=["services"],
        responses=schemas.ERROR_RESPONSES,
        summary="A routed service's ModelInfo: detector, version, training summary, metrics, calibration size.",
    )
    async def model_info(
        modality: str,
        detector: Annotated[str, Query(description="Detector; empty = service default.")] = "",
        version: Annotated[str, Query(description="Model version; empty = latest.")] = "",
        timeout: schemas.Timeout = None,
    ) -> JSONResponse:
        route = dataplane.router.get(modality)
        request = route.spec.messages().GetModelInfoRequest(
            model=common_pb2.ModelRef(detector=detector, version=version)
        )
        answer = await dataplane.unary(route, "GetModelInfo", request, timeout)
        return JSONResponse({"service": route.spec.name, "model": model_info_json(answer.model)})
