"""``polyad services``: the running gateway's routed services, their readiness and detectors that cannot run."""

from __future__ import annotations

import argparse
import json

import grpc
from google.protobuf.json_format import MessageToDict
from rich.console import Console
from rich.table import Table

from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc

__all__ = ["run_services"]


def run_services(args: argparse.Namespace) -> int:
    """Print ListServices of the gateway at ``args.gateway`` (a table, or JSON with ``--json``)."""
    with grpc.insecure_channel(args.gateway) as channel:
        try:
            answer = gateway_pb2_grpc.GatewayServiceStub(channel).ListServices(
                gateway_pb2.ListServicesRequest(), timeout=args.timeout)
        except grpc.RpcError as error:
            print(f"polyad services: the gateway at {args.gateway} answered {error.code().name}: {error.details()}")
            return 2
    if args.json:
        print(json.dumps(MessageToDict(answer, preserving_proto_field_name=True), indent=2))
        return 0
    table = Table(title=f"services behind {args.gateway}")
    for column in ("service", "address", "ready", "detectors that cannot run here"):
        table.add_column(column)
    for service in answer.services:
        missing = "; ".join(f"{name}: {reason}" for name, reason in sorted(service.unavailable_detectors.items()))
        table.add_row(service.name, service.address, "yes" if service.ready else "NO", missing or "-")
    Console(width=160).print(table)
    return 0 if all(service.ready for service in answer.services) else 1
