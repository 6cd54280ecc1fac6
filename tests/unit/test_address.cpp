// test_address.cpp: (stub, being written)
