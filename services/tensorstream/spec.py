"""The tensor-stream service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="tensorstream",
    title="event tensor streams: HeteroComp (categorical + continuous events, GP priors, group anomalies)",
    grpc_service="polyad.tensorstream.v1.TensorStreamService",
    proto_module="polyad.tensorstream.v1.tensorstream_pb2",
    servicer="services.tensorstream.servicer:TensorStreamServicer",
    settings="services.tensorstream.config:TensorStreamSettings",
    default_detector="heterocomp",
    port=50067,
    default_model="services.tensorstream.defaults:train_default_model",
    cli="services.tensorstream.cli",
    gateway="gateway.modalities.tensorstream",
    stream=True,
    data_help="an event log (.csv / .parquet / .jsonl) of normal events; --categorical / --continuous name the "
              "attributes (default: the generated network stream)",
    files_help="event logs (.csv / .parquet / .jsonl) with the model's attributes and a time column",
)
