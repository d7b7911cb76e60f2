"""The hyperspectral service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="hyperspectral",
    title="hyperspectral cubes: DMS2F-HAD (dual-branch spatial/spectral Mamba, gated fusion, reconstruction)",
    grpc_service="polyad.hyperspectral.v1.HyperspectralService",
    proto_module="polyad.hyperspectral.v1.hyperspectral_pb2",
    servicer="services.hyperspectral.servicer:HyperspectralServicer",
    settings="services.hyperspectral.config:HyperspectralSettings",
    default_detector="dms2f_had",
    port=50066,
    default_model="services.hyperspectral.defaults:train_default_model",
    cli="services.hyperspectral.cli",
    gateway="gateway.modalities.hyperspectral",
    data_help="one unlabelled cube (.mat / .npy / ENVI .hdr): the scene itself (the field's protocol) or a "
              "background scene of the same sensor; the bottom --calibration-fraction of its rows calibrates "
              "(default: a generated urban-like background scene)",
    files_help="cubes (.mat / .npy / ENVI .hdr, or a .zip holding an ENVI pair) with the model's band count",
)
