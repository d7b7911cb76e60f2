"""A service's own request as a ``polyad.gateway.v1`` request (the ``other`` arm), for CLI hooks calling the gateway."""

from __future__ import annotations

from google.protobuf.message import Message

from polyad.gateway.v1 import gateway_pb2

__all__ = ["gateway_detect_request", "gateway_stream_request"]


def gateway_detect_request(message: Message) -> gateway_pb2.DetectRequest:
    """``message`` (a service's ``DetectRequest``) packed into ``gateway.v1.DetectRequest.other``."""
    request = gateway_pb2.DetectRequest()
    request.other.Pack(message)
    return request


def gateway_stream_request(message: Message) -> gateway_pb2.StreamDetectRequest:
    """``message`` (a service's ``StreamDetectRequest``) packed into ``gateway.v1.StreamDetectRequest.other``."""
    request = gateway_pb2.StreamDetectRequest()
    request.other.Pack(message)
    return request
