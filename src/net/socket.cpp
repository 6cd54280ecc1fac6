// socket.cpp: (stub, being written)
