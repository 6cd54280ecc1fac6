// test_maglev.cpp: (stub, being written)
