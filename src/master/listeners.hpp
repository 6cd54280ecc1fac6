// listeners.hpp: (stub, being written)
#pragma once
