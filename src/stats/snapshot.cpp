// snapshot.cpp: (stub, being written)
