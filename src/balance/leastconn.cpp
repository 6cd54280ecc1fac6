// leastconn.cpp: (stub, being written)
