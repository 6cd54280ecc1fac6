// snapshot.hpp: (stub, being written)
#pragma once
