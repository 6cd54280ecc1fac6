// main.cpp: entry point of the micro-benchmarks run by `make bench`.
#include <benchmark/benchmark.h>
BENCHMARK_MAIN();
