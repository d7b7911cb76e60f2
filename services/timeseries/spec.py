"""The timeseries service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="timeseries",
    title="time series: COMET (multi-scale patches, VQ coreset, online codebook adaptation)",
    grpc_service="polyad.timeseries.v1.TimeSeriesService",
    proto_module="polyad.timeseries.v1.timeseries_pb2",
    servicer="services.timeseries.servicer:TimeSeriesServicer",
    settings="services.timeseries.config:TimeSeriesSettings",
    default_detector="comet",
    port=50061,
    default_model="services.timeseries.defaults:train_default_model",
    cli="services.timeseries.cli",
    gateway="gateway.modalities.timeseries",
    stream=True,
    data_help="a CSV / UCR .txt / TSB-AD CSV series of normal behaviour",
    files_help="series files (CSV / UCR .txt / TSB-AD CSV)",
)
