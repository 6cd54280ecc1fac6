// address.cpp: (stub, being written)
