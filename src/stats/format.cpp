// format.cpp: (stub, being written)
