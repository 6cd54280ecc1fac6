// test_shm.cpp: (stub, being written)
