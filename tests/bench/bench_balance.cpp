// bench_balance.cpp: (stub, being written)
