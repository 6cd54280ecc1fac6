// summary.hpp: the human summary of a loaded config printed at startup and by
// `make run` ("service web: 0.0.0.0:8080 tcp roundrobin, 3 servers ..."),
// and the route table of the entry points.
#pragma once
#include <string>

#include "config/config.hpp"

namespace ep::config {

std::string summary(const Config& cfg);

// Each entry point and its routes in match order ("  route 1 (line 12):
// host=api.example.com path_prefix=/v1/ -> api [strip-v1, api-limit]"), then
// the middlewares; "" when the config has neither. Printed by `easyproxy -t`.
std::string route_table(const Config& cfg);

}  // namespace ep::config
