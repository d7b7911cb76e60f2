"""Medical detectors: Multi-AD and the PatchCore baseline on vision's backbone, over 2.5D slice stacks."""
