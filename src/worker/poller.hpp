// poller.hpp: (stub, being written)
#pragma once
