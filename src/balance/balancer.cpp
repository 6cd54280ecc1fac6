// balancer.cpp: (stub, being written)
