// master.hpp: (stub, being written)
#pragma once
