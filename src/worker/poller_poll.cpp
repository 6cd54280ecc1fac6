// poller_poll.cpp: (stub, being written)
