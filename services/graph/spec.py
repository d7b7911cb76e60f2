"""The graph service, declared once (see services.core.spec)."""

from services.core.spec import ServiceSpec

__all__ = ["SPEC"]

SPEC = ServiceSpec(
    name="graph",
    title="graphs: ego-graph discrete diffusion + curriculum augmentation (inductive GNN)",
    grpc_service="polyad.graph.v1.GraphService",
    proto_module="polyad.graph.v1.graph_pb2",
    servicer="services.graph.servicer:GraphServicer",
    settings="services.graph.config:GraphSettings",
    default_detector="ego_diffusion",
    port=50064,
    default_model="services.graph.defaults:train_default_model",
    cli="services.graph.cli",
    gateway="gateway.modalities.graph",
    data_help="a labelled graph folder (edges + features + labels) or PyG .pt",
    files_help="graphs (folder with edges + features, or PyG .pt)",
)
