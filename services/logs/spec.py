"""The logs service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="logs",
    title="logs: ContraLog (parser-free message + sequence encoders)",
    grpc_service="polyad.logs.v1.LogsService",
    proto_module="polyad.logs.v1.logs_pb2",
    servicer="services.logs.servicer:LogsServicer",
    settings="services.logs.config:LogsSettings",
    default_detector="contralog",
    port=50063,
    default_model="services.logs.defaults:train_default_model",
    cli="services.logs.cli",
    gateway="gateway.modalities.logs",
    stream=True,
    data_help="a raw log file or a loghub HDFS folder",
    files_help="raw log files",
)
