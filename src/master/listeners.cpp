// listeners.cpp: (stub, being written)
