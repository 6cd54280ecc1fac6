// socket.hpp: (stub, being written)
#pragma once
