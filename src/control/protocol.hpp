// protocol.hpp: (stub, being written)
#pragma once
