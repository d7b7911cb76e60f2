"""Triton model repositories: export detectors' tensor graphs (TorchScript) and serve them with Triton."""
