// control_server.hpp: (stub, being written)
#pragma once
