"""Signal control: the LyCon-WRL+ safe world-model agent and the fixed-time / max-pressure baselines."""
