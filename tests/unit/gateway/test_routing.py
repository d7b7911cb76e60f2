"""The routing table, the router's channels, deadline choice, and the gateway settings."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from google.protobuf import descriptor_pool

from gateway.config import DEFAULT_ROUTES, GatewaySettings
from gateway.dataplane import DataPlane
from gateway.routing import PAYLOAD_ARMS, RESULT_ARMS, TYPE_PREFIX, Router
from polyad.gateway.v1 import gateway_pb2
from polyad.graph.v1 import graph_pb2
from polyad.timeseries.v1 import timeseries_pb2
from services.core.errors import InvalidInputError
from services.core.spec import service_specs


def test_every_named_arm_is_a_registered_service_with_matching_messages() -> None:
    """Each proto arm is a service spec whose Detect takes that arm's request and returns its response."""
    specs = service_specs()
    assert set(PAYLOAD_ARMS) <= set(specs) and set(RESULT_ARMS) == set(PAYLOAD_ARMS)
    requests = gateway_pb2.DetectRequest.DESCRIPTOR.fields_by_name
    responses = gateway_pb2.DetectResponse.DESCRIPTOR.fields_by_name
    for arm in PAYLOAD_ARMS:
        specs[arm].messages()  # registers the service's descriptors
        method = descriptor_pool.Default().FindServiceByName(specs[arm].grpc_service).methods_by_name["Detect"]
        assert method.input_type is requests[arm].message_type
        assert method.output_type is responses[arm].message_type


def test_every_spec_declares_importable_messages_and_a_matching_service() -> None:
    for spec in service_specs().values():
        messages = spec.messages()
        assert messages.DESCRIPTOR.package == spec.proto_package
        service = messages.DESCRIPTOR.services_by_name[spec.grpc_short_name]
        assert {"Detect", "GetModelInfo"} <= set(service.methods_by_name)
        assert ("StreamDetect" in service.methods_by_name) == spec.stream


def test_any_payload_is_routed_by_its_package() -> None:
    router = Router({"graph": "127.0.0.1:1", "timeseries": "127.0.0.1:2"})
    request = gateway_pb2.DetectRequest()
    request.other.Pack(graph_pb2.DetectRequest())
    assert request.other.type_url == f"{TYPE_PREFIX}polyad.graph.v1.DetectRequest"
    route = router.route(request)
    assert route.modality == "graph" and route.arm == "graph"
    request.other.Pack(graph_pb2.DetectResponse())
    with pytest.raises(InvalidInputError, match="is not a service's DetectRequest"):
        router.route(request)
    request.other.type_url = f"{TYPE_PREFIX}polyad.radar.v1.DetectRequest"
    with pytest.raises(InvalidInputError, match=r"no known service declares package 'polyad\.radar\.v1'"):
        router.route(request)


def test_route_picks_the_payload_arm() -> None:
    router = Router({"timeseries": "127.0.0.1:1"})
    request = gateway_pb2.DetectRequest(timeseries=timeseries_pb2.DetectRequest())
    route = router.route(request)
    assert (route.modality, route.spec.name, route.address) == ("timeseries", "timeseries", "127.0.0.1:1")
    assert router.get("timeseries") is route


def test_empty_payload_names_known_modalities() -> None:
    with pytest.raises(InvalidInputError, match="no modality set; expected one of: timeseries"):
        Router({"timeseries": "127.0.0.1:1"}).route(gateway_pb2.DetectRequest())


def test_unrouted_modality_names_known_modalities() -> None:
    router = Router({"timeseries": "127.0.0.1:1"})
    with pytest.raises(InvalidInputError, match=r"'vision' is not routed.*known modalities: timeseries"):
        router.get("vision")
    unconfigured = Router({})
    with pytest.raises(InvalidInputError, match="'timeseries' is not routed"):
        unconfigured.route(gateway_pb2.DetectRequest(timeseries=timeseries_pb2.DetectRequest()))


def test_routes_naming_unknown_modalities_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown modalities \['radar'\]; known: (\w+, )*timeseries, (\w+, )*vision"):
        Router({"radar": "127.0.0.1:1"})


def test_channels_are_lazy_and_shared_per_address() -> None:
    async def scenario() -> None:
        router = Router({"timeseries": "127.0.0.1:1"})
        assert router._channels == {}
        route = router.routes[0]
        call = route.call
        assert route.call is call and list(router._channels) == ["127.0.0.1:1"]
        assert route.unary("GetModelInfo") is route.unary("GetModelInfo")
        assert router.channel("127.0.0.1:1") is router.channel("127.0.0.1:1")
        assert router.health("127.0.0.1:1") is router.health("127.0.0.1:1")
        await router.close()
        assert router._channels == {}

    asyncio.run(scenario())


@pytest.mark.parametrize(("caller", "used"), [(None, 2.0), (0.5, 0.5), (9.0, 2.0)])
def test_deadline_is_the_smaller_of_caller_and_default(caller: float | None, used: float) -> None:
    settings = GatewaySettings(routes={"timeseries": "127.0.0.1:1"}, default_timeout_s=2.0)
    assert DataPlane(settings).deadline(caller) == used


def test_settings_defaults_and_file(tmp_path: Any) -> None:
    assert GatewaySettings.load(env={}).routes == DEFAULT_ROUTES == {"timeseries": "127.0.0.1:50061"}
    path = tmp_path / "gateway.yaml"
    path.write_text("gateway:\n  grpc_address: 0.0.0.0:6000\n  routes:\n    timeseries: ts:50061\n")
    settings = GatewaySettings.load(path, env={})
    assert settings.grpc_address == "0.0.0.0:6000" and settings.routes == {"timeseries": "ts:50061"}
    as_json = tmp_path / "gateway.json"
    as_json.write_text(json.dumps({"default_timeout_s": 3}))
    assert GatewaySettings.load(as_json, env={}).default_timeout_s == 3.0


def test_settings_env_overrides_file(tmp_path: Any) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("http_address: 127.0.0.1:9000\nroutes: {timeseries: 'a:1'}\n")
    env = {
        "POLYAD_GATEWAY_HTTP_ADDRESS": "0.0.0.0:8081",
        "POLYAD_GATEWAY_DEFAULT_TIMEOUT_S": "7.5",
        "POLYAD_GATEWAY_ROUTES__TIMESERIES": "ts.polyad.svc:50061",
        "POLYAD_GATEWAY_IMAGE": "ignored",
    }
    settings = GatewaySettings.load(path, env=env)
    assert settings.http_address == "0.0.0.0:8081" and settings.default_timeout_s == 7.5
    assert settings.routes == {"timeseries": "ts.polyad.svc:50061"}
    whole = GatewaySettings.load(env={"POLYAD_GATEWAY_ROUTES": '{"timeseries": "b:2"}'})
    assert whole.routes == {"timeseries": "b:2"}


@pytest.mark.parametrize(
    "values",
    [{"grpc_address": "nohost"}, {"routes": {"timeseries": "ts:port"}}, {"default_timeout_s": 0}, {"x": 1}],
)
def test_bad_settings_are_rejected(values: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        GatewaySettings(**values)
