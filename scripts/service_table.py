"""Print the registered services, one ``name extra port`` line each (for docker/build.sh and other shell tools)."""

from __future__ import annotations

from services.core.spec import service_specs


def main() -> int:
    for spec in service_specs().values():
        print(spec.name, spec.pip_extra, spec.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
