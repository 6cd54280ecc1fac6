// summary.hpp: the human summary of a loaded config printed at startup and by
// `make run` ("service web: 0.0.0.0:8080 tcp roundrobin, 3 servers ...").
#pragma once
#include <string>

#include "config/config.hpp"

namespace ep::config {

std::string summary(const Config& cfg);

}  // namespace ep::config
