// control_server.cpp: (stub, being written)
