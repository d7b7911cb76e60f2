"""``python -m polyad.commands.defaults SERVICE... [--store DIR]``: train missing default models (``polyad up``).

Each service's spec names its default-model trainer (bundled or generated data); one process
trains them in turn, so services can start at once and turn SERVING as their model appears.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from services.core.spec import load_object, service_specs

__all__ = ["main"]

console = Console(stderr=True)


def main(argv: list[str] | None = None) -> int:
    """Train and store the default model of every named service that has none yet."""
    from services.core.errors import ModelNotFoundError
    from services.core.store import ModelStore

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("services", nargs="+", choices=sorted(service_specs()))
    parser.add_argument("--store", help="model store root")
    args = parser.parse_args(argv)
    store = ModelStore(args.store)
    for name in args.services:
        spec = service_specs()[name]
        try:
            store.resolve(name, spec.default_detector)
            continue
        except ModelNotFoundError:
            pass
        if not spec.default_model:
            console.print(f"{name}: no default model declared; train one with `polyad train {name} --data ...`")
            continue
        console.print(f"training the default {name}/{spec.default_detector} model on the bundled data")
        stored = load_object(spec.default_model)(store, progress=True)
        console.print(f"[green]{name}/{stored.detector}[/] {stored.version} stored in {store.root}")
    return 0


def _main_quietly() -> int:
    """``main``, but Ctrl-C (which reaches this child with ``polyad up``) ends it with one line, no traceback."""
    try:
        return main()
    except KeyboardInterrupt:
        console.print("default-model training interrupted; nothing half-written is kept (stores are atomic), "
                      "and the next `polyad up` trains what is still missing")
        return 130


if __name__ == "__main__":
    raise SystemExit(_main_quietly())
