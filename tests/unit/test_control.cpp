// test_control.cpp: (stub, being written)
