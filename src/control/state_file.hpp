// state_file.hpp: (stub, being written)
#pragma once
