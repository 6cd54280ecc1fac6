// summary.cpp: (stub, being written)
