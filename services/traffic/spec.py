"""The traffic service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="traffic",
    title="road-sensor networks: STREAM-RL (PU-GAT+ conformal forecasts, CRFN-BY detection, LyCon-WRL+ control)",
    grpc_service="polyad.traffic.v1.TrafficService",
    proto_module="polyad.traffic.v1.traffic_pb2",
    servicer="services.traffic.servicer:TrafficServicer",
    settings="services.traffic.config:TrafficSettings",
    default_detector="pu_gat",
    port=50068,
    default_model="services.traffic.defaults:train_default_model",
    cli="services.traffic.cli",
    gateway="gateway.modalities.traffic",
    stream=True,
    data_help="a sensor CSV (timestamp x sensor, METR-LA / PEMS-BAY layout) with --adjacency (edge-list CSV or "
              ".npy matrix); default: simulated SUMO runs on RESCO cologne8",
    files_help="sensor CSVs in the model's sensor layout (timestamp column + one column per sensor)",
)
