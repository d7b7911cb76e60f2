"""``polyad score toy FILE``: one number per line, scored through the gateway."""

from __future__ import annotations

import argparse
import importlib

import grpc
import numpy as np

from polyad.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from services.core.codecs import from_numpy, to_numpy


def score(args: argparse.Namespace) -> int:
    pb = importlib.import_module("toy.echo.v1.toy_pb2")
    for path in args.files:
        request = gateway_pb2.DetectRequest()
        request.other.Pack(pb.DetectRequest(values=from_numpy(np.loadtxt(path, dtype=np.float32, ndmin=1))))
        with grpc.insecure_channel(args.gateway) as channel:
            reply = gateway_pb2_grpc.GatewayServiceStub(channel).Detect(request, timeout=args.timeout)
        answer = pb.DetectResponse.FromString(reply.other.value)
        print(path, "max score", float(to_numpy(answer.scores).max()), "flagged",
              int(to_numpy(answer.decisions.anomalous).sum()))
    return 0


def train(args: argparse.Namespace) -> int:
    from services.core.cli_training import train_version
    from services.core.training import chronological_split
    from tests.toy.detector import train_default_model

    values = np.loadtxt(args.data, dtype=np.float32) if args.data else None
    return train_version(args, "toy", lambda store, overrides: train_default_model(store, True, overrides),
                         lambda _: chronological_split(values, args.calibration_fraction))


def evaluate(args: argparse.Namespace) -> int:
    print("the toy service has no held-out evaluation")
    return 2
