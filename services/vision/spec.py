"""The vision service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="vision",
    title="images: Multi-AD, patch-flow, PatchCore (EfficientNet-Lite0 backbone)",
    grpc_service="polyad.vision.v1.VisionService",
    proto_module="polyad.vision.v1.vision_pb2",
    servicer="services.vision.servicer:VisionServicer",
    settings="services.vision.config:VisionSettings",
    default_detector="multi_ad",
    port=50062,
    default_model="services.vision.defaults:train_default_model",
    cli="services.vision.cli",
    gateway="gateway.modalities.vision",
    data_help="a folder of normal images or an MVTec AD category",
    files_help="images (PNG/JPEG)",
)
