// state_file.cpp: (stub, being written)
