// test_format.cpp: (stub, being written)
