// test_config.cpp: (stub, being written)
