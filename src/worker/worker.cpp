// worker.cpp: (stub, being written)
