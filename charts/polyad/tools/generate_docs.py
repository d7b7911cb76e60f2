"""Regenerate values.schema.json and the README's parameter tables from values.yaml and its `## @param` lines.

    python charts/polyad/tools/generate_docs.py          # rewrite both files
    python charts/polyad/tools/generate_docs.py --check  # exit 1 when either is stale (tests run this)

Types come from the default values; the rules below add what defaults cannot say (ports, enums, minimums,
free-form maps). Every object the chart defines is closed (`additionalProperties: false`), so a misspelt
value fails `helm install` instead of being ignored. The domain services (`polyad.serviceNames` in
templates/_helpers.tpl) share one definition, `#/definitions/service`: every field of `serviceDefaults` plus the
fields each service sets itself, all optional, since a service's block only holds what differs from the defaults.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1]
PARAM = re.compile(r"^\s*## @param (\S+) (.+)$")
SECTION = re.compile(r"^\s*## @section (.+)$")
TABLES_MARKER = "## Parameters"
SERVICE_NAMES = re.compile(r'define "polyad\.serviceNames" -}}\s*(.*?)\s*{{-? ?end', re.S)
DEFAULTS = "serviceDefaults"
SERVICE_REF = "#/definitions/service"

# Maps whose keys are the user's (labels, resources, settings passed through...).
FREE_FORM = {
    "commonLabels",
    "commonAnnotations",
    "annotations",
    "podAnnotations",
    "podLabels",
    "nodeSelector",
    "affinity",
    "settings",
    "extraRoutes",
    "rayStartParams",
    "labels",
    "ingressNSMatchLabels",
    "metricsNamespaceSelector",
    "rayOperatorNamespaceSelector",
    "rayOperatorPodLabels",
}
INT_OR_STRING = {"targetCPU", "targetMemory", "minAvailable", "maxUnavailable"}
QUANTITY = {"sizeLimit", "size", "shmSizeLimit"}
PORTS = {"grpc", "http", "metrics", "clientPort"}
NUMBERS = {"numCpus", "numGpus", "batchWaitTimeoutSeconds"}
POSITIVE_NUMBERS = {"defaultTimeoutSeconds", "healthTimeoutSeconds"}
AT_LEAST_ONE = {
    "periodSeconds",
    "timeoutSeconds",
    "failureThreshold",
    "successThreshold",
    "inlineThreads",
    "torchThreads",
    "maxBatchSize",
    "maxOngoingRequests",
    "maxMessageBytes",
    "maxUploadBytes",
    "maxReplicas",
}
ENUMS = {
    "pullPolicy": ["Always", "IfNotPresent", "Never"],
    "upgradeStrategy": ["NewCluster", "None"],
    "proxyLocation": ["EveryNode", "HeadOnly", "Disabled"],
    "pathType": ["Prefix", "Exact", "ImplementationSpecific"],
    "fsGroupChangePolicy": ["OnRootMismatch", "Always"],
}
ACCESS_MODES = ["ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"]


def _descriptions(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2).strip() for line in text.splitlines() if (m := PARAM.match(line))}


def _node(path: str, key: str, value: Any, docs: dict[str, str]) -> dict[str, Any]:
    schema: dict[str, Any]
    if key == "resources" and isinstance(value, dict):
        schema = {
            "type": "object",
            "properties": {"requests": {"type": "object"}, "limits": {"type": "object"}},
            "additionalProperties": False,
        }
    elif key in FREE_FORM and isinstance(value, dict):
        schema = {"type": "object"}
    elif isinstance(value, dict):
        schema = {
            "type": "object",
            "additionalProperties": False,
            "properties": {k: _node(f"{path}.{k}", k, v, docs) for k, v in value.items()},
        }
    elif key in QUANTITY:
        schema = {"type": ["string", "integer"]}
    elif isinstance(value, bool):
        schema = {"type": "boolean"}
    elif key in INT_OR_STRING:
        schema = {"type": ["integer", "string"]}
    elif key in NUMBERS:
        schema = {"type": "number", "minimum": 0}
    elif key in POSITIVE_NUMBERS:
        schema = {"type": "number", "exclusiveMinimum": 0}
    elif key in PORTS and isinstance(value, int):
        schema = {"type": "integer", "minimum": 1, "maximum": 65535}
    elif isinstance(value, int):
        schema = {"type": "integer", "minimum": 1 if key in AT_LEAST_ONE else 0}
    elif isinstance(value, float):
        schema = {"type": "number", "minimum": 0}
    elif isinstance(value, list):
        schema = {"type": "array"}
        if key in {"pullSecrets", "drop"}:
            schema["items"] = {"type": "string"}
        elif key == "kubeAPIServerPorts":
            schema["items"] = {"type": "integer", "minimum": 1, "maximum": 65535}
        elif key == "accessModes":
            schema["items"] = {"type": "string", "enum": ACCESS_MODES}
    else:
        schema = {"type": "string"}
        if key in ENUMS:
            schema["enum"] = ENUMS[key]
        elif path.endswith("service.type"):
            schema["enum"] = ["ClusterIP", "NodePort", "LoadBalancer"]
        elif key == "digest":
            schema["pattern"] = "^(|sha256:[a-f0-9]{64})$"
    if path in docs:
        schema["description"] = docs[path]
    return schema


def service_names() -> list[str]:
    """The domain services of the chart: the `polyad.serviceNames` helper of templates/_helpers.tpl."""
    helpers = (CHART / "templates" / "_helpers.tpl").read_text(encoding="utf-8")
    found = SERVICE_NAMES.search(helpers)
    if not found:
        raise SystemExit("templates/_helpers.tpl defines no polyad.serviceNames")
    return found.group(1).split()


def _merged(base: Any, over: Any) -> Any:
    """``over`` deep-merged onto ``base`` (maps key by key, anything else replaced): the chart's serviceValues."""
    if isinstance(base, dict) and isinstance(over, dict):
        return {**base, **{key: _merged(base.get(key), value) for key, value in over.items()}}
    return over


def _service_definition(values: dict[str, Any], services: list[str], docs: dict[str, str]) -> dict[str, Any]:
    """One closed schema for every service block: serviceDefaults' fields plus those the services set themselves,
    described by serviceDefaults' docs or else by the first service's (its name read as `<service>`)."""
    union: Any = values[DEFAULTS]
    for name in services:
        union = _merged(union, values[name])
    shared = dict(docs)
    for name in reversed(services):
        for path, text in docs.items():
            if path.startswith(f"{name}."):
                generic = f"{DEFAULTS}.{path.removeprefix(name + '.')}"
                if generic not in docs:
                    shared[generic] = text.replace(name, "<service>")
    definition = _node(DEFAULTS, DEFAULTS, union, shared)
    definition["description"] = "A domain service's values: serviceDefaults overlaid by the service's own block"
    return definition


def schema_text(values_text: str) -> str:
    """The values.schema.json the chart should ship."""
    values = yaml.safe_load(values_text)
    docs = _descriptions(values_text)
    services = service_names()
    missing = [name for name in services if not isinstance(values.get(name), dict)]
    if missing or not isinstance(values.get(DEFAULTS), dict):
        raise SystemExit(f"values.yaml needs a {DEFAULTS} block and a block per service; missing: {missing}")
    properties = {}
    for key, value in values.items():
        if key in services:
            properties[key] = {"$ref": SERVICE_REF}
        else:
            properties[key] = _node(key, key, value, docs)
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Values of the Polyad Helm chart",
        "type": "object",
        "additionalProperties": False,
        "properties": properties,
        "definitions": {"service": _service_definition(values, services, docs)},
    }
    return json.dumps(schema, indent=2) + "\n"


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"`{value}`" if value else '`""`'
    return f"`{json.dumps(value)}`"


def tables_text(values_text: str) -> str:
    """The README's parameter tables, one per `## @section`."""
    values = yaml.safe_load(values_text)
    out: list[str] = []
    for line in values_text.splitlines():
        if section := SECTION.match(line):
            out += [
                "",
                f"### {section.group(1).strip()}",
                "",
                "| Name | Description | Value |",
                "| ---- | ----------- | ----- |",
            ]
        elif param := PARAM.match(line):
            path, description = param.group(1), param.group(2).strip().replace("|", "\\|")
            value: Any = values
            for part in path.split("."):
                value = value[part]
            out.append(f"| `{path}` | {description} | {_shown(value)} |")
    return "\n".join(out).lstrip("\n") + "\n"


def readme_text(readme: str, values_text: str) -> str:
    """The README with everything after the parameters heading regenerated."""
    head, marker, _ = readme.partition(f"\n{TABLES_MARKER}\n")
    if not marker:
        raise SystemExit(f"README.md has no '{TABLES_MARKER}' heading")
    intro = "\nGenerated from the `## @param` comments of `values.yaml` (the schema is `values.schema.json`).\n\n"
    return f"{head}\n{TABLES_MARKER}\n{intro}{tables_text(values_text)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args(argv)
    values_text = (CHART / "values.yaml").read_text(encoding="utf-8")
    targets = {
        CHART / "values.schema.json": schema_text(values_text),
        CHART / "README.md": readme_text((CHART / "README.md").read_text(encoding="utf-8"), values_text),
    }
    stale = [path for path, text in targets.items() if path.read_text(encoding="utf-8") != text]
    if args.check:
        for path in stale:
            print(f"{path} is stale: run python {Path(__file__).relative_to(CHART.parents[1])}", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(targets[path], encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
