// protocol.cpp: (stub, being written)
