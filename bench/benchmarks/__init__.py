"""One module per benchmark (or family); each registers itself with `bench.registry.benchmark`."""
