// connection.hpp: (stub, being written)
#pragma once
