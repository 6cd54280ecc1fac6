// bench_config.cpp: (stub, being written)
