// master.cpp: (stub, being written)
