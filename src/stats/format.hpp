// format.hpp: (stub, being written)
#pragma once
