"""Tensor-stream service: heterogeneous event streams (time, categorical and continuous attributes)."""
