# contrib/: scripts, units, benchmarks
