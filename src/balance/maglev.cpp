// maglev.cpp: (stub, being written)
