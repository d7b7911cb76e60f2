"""Polyad: generated protobuf packages (``polyad.<service>.v1``) and the ``polyad`` command line."""
