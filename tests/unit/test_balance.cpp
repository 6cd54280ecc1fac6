// test_balance.cpp: (stub, being written)
