// worker.hpp: (stub, being written)
#pragma once
