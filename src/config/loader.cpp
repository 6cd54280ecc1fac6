// loader.cpp: (stub, being written)
