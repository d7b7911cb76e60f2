"""Settings of the graph service."""

from __future__ import annotations

from pydantic import Field

from services.core.settings import ServiceSettings

__all__ = ["SERVICE", "GraphSettings"]

SERVICE = "graph"


class GraphSettings(ServiceSettings):
    """Limits and defaults of ``polyad.graph.v1.GraphService``."""

    max_nodes: int = Field(200_000, ge=1, description="Largest graph accepted (nodes).")
    max_edges: int = Field(2_000_000, ge=1, description="Largest graph accepted (edges as sent).")
    default_explain_top_k: int = Field(10, ge=0, description="Nodes explained when a request says 0.")
    max_explain_top_k: int = Field(100, ge=0, description="Most nodes explained in one request.")
    min_fit_anomalies: int = Field(4, ge=1, description="Fewest labelled anomalies Fit accepts.")
