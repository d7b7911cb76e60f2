"""The images: Dockerfile.base and docker/Dockerfile, parsed (no Docker engine needed) and checked against the repo."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import importlib.util
import io
import json
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging import requirements as packaging_requirements  # a dependency of pytest

from services.core.spec import service_specs

SERVICES = service_specs()

dockerfile_parse = pytest.importorskip("dockerfile_parse", reason="needs the deploy extra: dockerfile-parse")

REPO = Path(__file__).resolve().parents[3]
BASE = REPO / "Dockerfile.base"
SERVICES_FILE = REPO / "docker" / "Dockerfile"
REQUIREMENTS_SCRIPT = REPO / "docker" / "requirements.py"
CONSTRAINTS = REPO / "docker" / "constraints.txt"
DOCKERIGNORE = REPO / ".dockerignore"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))

# Build targets and the one process each starts (the service target is built once per registered spec).
IMAGE_COMMANDS = {
    "gateway": ["python", "-m", "gateway.app"],
    "service": ["python", "-m", "services.core.app"],
}
ROOT_USERS = {"root", "0", "0:0", "root:root"}


@dataclass
class Stage:
    """One build stage: its name, base, instructions and resolved build arguments."""

    name: str
    base: str
    instructions: list[dict] = field(default_factory=list)
    args: dict[str, str] = field(default_factory=dict)

    def values(self, instruction: str) -> list[str]:
        return [i["value"] for i in self.instructions if i["instruction"] == instruction]


def _substitute(text: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), m.group(0)), text)


def stages(path: Path) -> list[Stage]:
    """The stages of a Dockerfile, with ARG defaults (global ones re-declared in a stage) resolved."""
    parser = dockerfile_parse.DockerfileParser(fileobj=io.BytesIO(path.read_bytes()))
    global_args: dict[str, str] = {}
    out: list[Stage] = []
    for instruction in parser.structure:
        kind, value = instruction["instruction"], instruction["value"]
        if kind == "FROM":
            words = value.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(out))
            out.append(Stage(name, _substitute(words[0], global_args)))
            continue
        if kind == "ARG":
            key, _, default = value.partition("=")
            if not out:
                global_args[key] = default
                continue
            args = out[-1].args
            args[key] = _substitute(default, {**global_args, **args}) if default else global_args.get(key, "")
        if out:
            out[-1].instructions.append(instruction)
    return out


def exec_form(stage: Stage, instruction: str) -> list[str] | None:
    values = stage.values(instruction)
    if not values:
        return None
    parsed = json.loads(values[-1])  # shell form is not JSON: an error here is a finding
    assert isinstance(parsed, list) and all(isinstance(w, str) for w in parsed), values[-1]
    return parsed


def final_user(stage: Stage, by_name: dict[str, Stage]) -> str | None:
    users = stage.values("USER")
    if users:
        return _substitute(users[-1], stage.args)
    parent = by_name.get(stage.base)
    return final_user(parent, by_name) if parent else None


ALL_STAGES = {path: stages(path) for path in (BASE, SERVICES_FILE)}


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's .dockerignore rule: the last matching pattern wins; `!` re-includes."""
    ignored = False
    for raw in patterns:
        negate = raw.startswith("!")
        pattern = raw[1:] if negate else raw
        pattern = pattern.strip("/")
        if pattern == "**" or fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            ignored = not negate
    return ignored


# ------------------------------------------------------------------------------------------------ tests


def test_every_component_has_an_image_target() -> None:
    targets = {stage.name for stage in ALL_STAGES[SERVICES_FILE]}
    assert set(IMAGE_COMMANDS) | {"ray"} <= targets
    assert {stage.name for stage in ALL_STAGES[BASE]} == {"base", "torch"}


@pytest.mark.parametrize("path", [BASE, SERVICES_FILE], ids=lambda p: p.name)
def test_copy_sources_exist_and_are_in_the_build_context(path: Path) -> None:
    patterns = [
        line.strip()
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    checked = 0
    for stage in ALL_STAGES[path]:
        for instruction in ("COPY", "ADD"):
            for value in stage.values(instruction):
                words = [w for w in value.split() if not w.startswith("--")]
                if any(w.startswith("--from") for w in value.split()):
                    continue  # from another stage, not from the build context
                for source in words[:-1]:
                    assert (REPO / source).exists(), f"{path.name} stage {stage.name}: {source} does not exist"
                    assert not _ignored(source.rstrip("/"), patterns), f"{source} is excluded by .dockerignore"
                    checked += 1
    assert checked


def test_dockerignore_keeps_secrets_and_environments_out() -> None:
    patterns = [line.strip() for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines() if line.strip()]
    for path in (".venv", "node_modules", ".git", "tests", "bench", "polyad/__pycache__", "services/x/.env"):
        assert _ignored(path, patterns), path


@pytest.mark.parametrize("path", [BASE, SERVICES_FILE], ids=lambda p: p.name)
def test_images_run_as_non_root(path: Path) -> None:
    by_name = {stage.name: stage for stage in ALL_STAGES[path]}
    for stage in ALL_STAGES[path]:
        if stage.name == "wheel":  # a builder stage: never run, only copied from
            continue
        user = final_user(stage, by_name)
        assert user is not None, f"{path.name} stage {stage.name} sets no USER (would run as root)"
        assert user not in ROOT_USERS and not user.startswith("0:"), f"{stage.name} runs as {user}"
        assert re.fullmatch(r"\d+(:\d+)?", user), f"{stage.name}: use a numeric uid for runAsNonRoot ({user})"


def test_image_uid_matches_the_chart() -> None:
    import yaml

    values = yaml.safe_load((REPO / "charts" / "polyad" / "values.yaml").read_text(encoding="utf-8"))
    uid = ALL_STAGES[BASE][0].args["POLYAD_UID"]
    assert all(stage.args["POLYAD_UID"] == uid for stage in ALL_STAGES[BASE])
    assert int(uid) == values["podSecurityContext"]["runAsUser"] == values["containerSecurityContext"]["runAsUser"]
    assert ALL_STAGES[SERVICES_FILE][1].args["POLYAD_UID"] == uid


@pytest.mark.parametrize("target", sorted(IMAGE_COMMANDS))
def test_each_image_starts_only_its_own_process(target: str) -> None:
    stage = next(s for s in ALL_STAGES[SERVICES_FILE] if s.name == target)
    entrypoint = exec_form(stage, "ENTRYPOINT")
    assert entrypoint == IMAGE_COMMANDS[target]
    assert exec_form(stage, "CMD") is None, "arguments come from the chart, the process from the image"
    module = entrypoint[2]
    source = REPO / Path(*module.split(".")).with_suffix(".py")
    assert importlib.util.find_spec(module) is not None, f"{module} is not importable"
    assert re.search(r'^if __name__ == "__main__":', source.read_text(encoding="utf-8"), re.M), (
        f"{module} has no __main__ block: `python -m {module}` would exit at once"
    )


def test_gateway_image_exposes_its_ports() -> None:
    stage = next(s for s in ALL_STAGES[SERVICES_FILE] if s.name == "gateway")
    assert {int(port) for value in stage.values("EXPOSE") for port in value.split()} == {50051, 8080}


def test_service_image_is_parameterised_by_the_spec() -> None:
    stage = next(s for s in ALL_STAGES[SERVICES_FILE] if s.name == "service")
    assert {"SERVICE", "EXTRAS", "PORT"} <= set(stage.args)
    assert "POLYAD_SERVICE=${SERVICE}" in stage.values("ENV")
    assert stage.values("EXPOSE") == ["${PORT}"]
    runs = " ".join(stage.values("RUN"))
    assert '--extras "${EXTRAS}"' in runs


def test_build_script_builds_one_image_per_registered_spec() -> None:
    table = subprocess.run([sys.executable, str(REPO / "scripts" / "service_table.py")], capture_output=True,
                           text=True, check=True, timeout=60, cwd=REPO).stdout.split("\n")
    rows = [line.split() for line in table if line.strip()]
    assert [(name, extra, int(port)) for name, extra, port in rows] == [
        (spec.name, spec.pip_extra, spec.port) for spec in SERVICES.values()
    ]
    assert {extra for _, extra, _ in rows} <= set(PYPROJECT["project"]["optional-dependencies"])
    script = (REPO / "docker" / "build.sh").read_text(encoding="utf-8")
    assert "scripts/service_table.py" in script and '--build-arg SERVICE="${name}"' in script


def test_ray_image_command_is_a_real_console_script() -> None:
    stage = next(s for s in ALL_STAGES[SERVICES_FILE] if s.name == "ray")
    command = exec_form(stage, "CMD")
    assert command is not None and exec_form(stage, "ENTRYPOINT") is None  # KubeRay replaces the command
    scripts = {ep.name for ep in importlib.metadata.entry_points(group="console_scripts")}
    if command[0] not in scripts:
        pytest.skip("ray is not installed here (the ray extra)")
    assert command[:2] == ["ray", "start"]


def test_base_installs_cpu_torch_by_default_and_cuda_on_request() -> None:
    torch = next(s for s in ALL_STAGES[BASE] if s.name == "torch")
    assert torch.args["TORCH_VERSION"] == "2.13.0"
    assert torch.args["TORCH_VARIANT"] == "cpu"
    assert torch.args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cpu"
    runs = " ".join(torch.values("RUN"))
    assert 'pip install "torch==${TORCH_VERSION}" --index-url "${TORCH_INDEX_URL}"' in runs
    assert torch.args["WITH_MAMBA_SSM"] == "false" and "mamba-ssm==${MAMBA_SSM_VERSION}" in runs
    # The pinned torch is the one pyproject.toml pins.
    assert f"torch=={torch.args['TORCH_VERSION']}" in PYPROJECT["project"]["optional-dependencies"]["torch"]
    base = ALL_STAGES[BASE][0]
    assert base.base == "python:3.11-slim-bookworm"


def _extras_used() -> set[str]:
    extras: set[str] = {spec.pip_extra for spec in SERVICES.values()}
    for path_stages in ALL_STAGES.values():
        for stage in path_stages:
            for run in stage.values("RUN"):
                for match in re.finditer(r"--extras\s+(\S+)", run):
                    extras |= set(match.group(1).strip('"').split(",")) - {"${EXTRAS}", "${RAY_EXTRAS}"}
            for key in ("RAY_EXTRAS",):
                extras |= set(stage.args.get(key, "").split(",")) - {""}
    return extras


def test_requirements_script_reads_the_pins_of_pyproject() -> None:
    extras = _extras_used()
    assert {"ray", "torch", "timeseries", "vision", "logs", "graph"} <= extras
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"])
    result = subprocess.run(
        [
            sys.executable,
            str(REQUIREMENTS_SCRIPT),
            str(REPO / "pyproject.toml"),
            "--extras",
            ",".join(sorted(extras)),
            "--exclude",
            "torch",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    lines = result.stdout.split()
    names = {packaging_requirements.Requirement(line).name.lower() for line in lines}
    assert "torch" not in names and "torch-geometric" in names and "ray" in names
    assert set(PYPROJECT["project"]["dependencies"]) <= set(lines)
    bad = subprocess.run(
        [sys.executable, str(REQUIREMENTS_SCRIPT), str(REPO / "pyproject.toml"), "--extras", "no-such-extra"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert bad.returncode != 0 and "unknown extra" in bad.stderr


def test_constraints_agree_with_pyproject() -> None:
    """docker/constraints.txt fixes versions inside pyproject's ranges; it never contradicts them."""
    pinned: dict[str, str] = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            req = packaging_requirements.Requirement(line)
            assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", line
            pinned[req.name.lower().replace("_", "-")] = next(iter(req.specifier)).version
    assert "torch" not in pinned, "torch comes from the PyTorch index (CPU or CUDA); a pin here breaks the CUDA build"
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for extra, deps in project["optional-dependencies"].items():
        if extra not in {"bench", "dev", "all"}:
            lines += deps
    checked = 0
    for line in lines:
        req = packaging_requirements.Requirement(line)
        name = req.name.lower().replace("_", "-")
        if name in pinned:
            assert req.specifier.contains(pinned[name], prereleases=True), f"{line} vs constraints {pinned[name]}"
            checked += 1
    assert checked >= 10


def test_build_script_builds_every_target() -> None:
    script = (REPO / "docker" / "build.sh").read_text(encoding="utf-8")
    match = re.search(r"for target in ([\w ]+); do", script)
    assert match is not None
    assert set(match.group(1).split()) | {"service"} == {s.name for s in ALL_STAGES[SERVICES_FILE]} - {"wheel"}
