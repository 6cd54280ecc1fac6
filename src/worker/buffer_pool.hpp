// buffer_pool.hpp: (stub, being written)
#pragma once
