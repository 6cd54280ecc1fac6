// roundrobin.cpp: (stub, being written)
