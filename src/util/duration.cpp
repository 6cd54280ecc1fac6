// duration.cpp: (stub, being written)
