"""The traffic service: STREAM-RL (PU-GAT+, CRFN-BY, LyCon-WRL+) on SUMO city networks."""
