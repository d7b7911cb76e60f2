"""The shared kernel: detector contract, registry, codecs, calibration, model store, backends, servers."""
