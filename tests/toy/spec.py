"""The toy service, declared once: everything the platform needs to run, route and serve it."""

from services.core.spec import ServiceSpec

SPEC = ServiceSpec(
    name="toy",
    title="toy: distance from the training mean",
    grpc_service="toy.echo.v1.EchoService",
    proto_module="toy.echo.v1.toy_pb2",
    servicer="tests.toy.servicer:ToyServicer",
    settings="tests.toy.servicer:ToySettings",
    default_detector="distance",
    port=50099,
    default_model="tests.toy.detector:train_default_model",
    cli="tests.toy.cli",
    gateway="tests.toy.gateway",
    detectors={"distance": "tests.toy.detector:DistanceDetector"},
)
