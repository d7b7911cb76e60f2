"""The Polyad gateway: gRPC GatewayService and a REST/JSON proxy over one data plane.

Run it with ``python -m gateway.app --config gateway.yaml``; see :mod:`gateway.config`.
"""
