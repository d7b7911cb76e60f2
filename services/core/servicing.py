"""Pieces every domain servicer shares (the transports stay thin: decode → backend → encode)."""

from __future__ import annotations

from typing import Any, ClassVar

from google.protobuf.message import Message
from grpc import aio

from services.core.models import ModelManager
from services.core.settings import ServiceSettings

__all__ = ["ModelInfoMixin"]


class ModelInfoMixin:
    """``GetModelInfo``: the ``common.v1.ModelInfo`` of the version a request's ``ModelRef`` resolves to.

    A servicer lists this class before its generated base and names its response message.
    """

    models: ModelManager
    settings: ServiceSettings
    model_info_response: ClassVar[type[Message]]

    async def GetModelInfo(self, request: Any, context: aio.ServicerContext) -> Message:
        model = await self.models.get(request.model)
        return self.model_info_response(model=model.info(self.settings.backend.kind))
