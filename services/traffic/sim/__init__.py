"""SUMO simulation (in-process libsumo): RESCO networks, sensor graphs, incidents with exact labels."""
