// test_rise_fall.cpp: (stub, being written)
