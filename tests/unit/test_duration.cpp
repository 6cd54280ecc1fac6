// test_duration.cpp: (stub, being written)
