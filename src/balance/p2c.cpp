// p2c.cpp: (stub, being written)
