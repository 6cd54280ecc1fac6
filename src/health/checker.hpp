// checker.hpp: (stub, being written)
#pragma once
