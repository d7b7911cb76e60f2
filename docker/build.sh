#!/usr/bin/env bash
# Build every Polyad image from the repository root: the two bases, then one image per component.
#
#   docker/build.sh                      # CPU images tagged polyad/<component>:<version>
#   REGISTRY=ghcr.io/acme docker/build.sh
#   TORCH_VARIANT=cu128 WITH_MAMBA_SSM=true PYTHON_IMAGE=<cuda devel image with python3.11> docker/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1)}"
REGISTRY="${REGISTRY:-polyad}"
TORCH_VARIANT="${TORCH_VARIANT:-cpu}"
WITH_MAMBA_SSM="${WITH_MAMBA_SSM:-false}"
PYTHON_IMAGE="${PYTHON_IMAGE:-python:3.11-slim-bookworm}"
SUFFIX=""
if [ "${TORCH_VARIANT}" != "cpu" ]; then SUFFIX="-${TORCH_VARIANT}"; fi

docker build -f Dockerfile.base --target base -t "${REGISTRY}/base:${VERSION}${SUFFIX}" \
  --build-arg PYTHON_IMAGE="${PYTHON_IMAGE}" .
docker build -f Dockerfile.base --target torch -t "${REGISTRY}/base-torch:${VERSION}${SUFFIX}" \
  --build-arg PYTHON_IMAGE="${PYTHON_IMAGE}" --build-arg TORCH_VARIANT="${TORCH_VARIANT}" \
  --build-arg WITH_MAMBA_SSM="${WITH_MAMBA_SSM}" .
BASES=(--build-arg BASE_IMAGE="${REGISTRY}/base:${VERSION}${SUFFIX}"
       --build-arg TORCH_BASE_IMAGE="${REGISTRY}/base-torch:${VERSION}${SUFFIX}")
# The services come from the registered specs (services/*/spec.py): "name extra port" per line.
SPECS="$(python scripts/service_table.py)"
RAY_EXTRAS="ray$(printf '%s\n' "${SPECS}" | awk '{printf ",%s", $2}')"
for target in gateway ray; do
  docker build -f docker/Dockerfile --target "${target}" -t "${REGISTRY}/${target}:${VERSION}${SUFFIX}" \
    "${BASES[@]}" --build-arg RAY_EXTRAS="${RAY_EXTRAS}" .
done
while read -r name extra port; do
  docker build -f docker/Dockerfile --target service -t "${REGISTRY}/${name}:${VERSION}${SUFFIX}" "${BASES[@]}" \
    --build-arg SERVICE="${name}" --build-arg EXTRAS="${extra}" --build-arg PORT="${port}" .
done <<< "${SPECS}"
