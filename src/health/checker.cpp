// checker.cpp: (stub, being written)
