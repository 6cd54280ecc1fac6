// routes.cpp: the match order of an entry point's routes (DESIGN.md §8), fixed
// once at load so that the worker tries routes first to last, and `-t` and
// `epstat routes` show the same order.
#include <algorithm>
#include <tuple>

#include "config/config.hpp"

namespace ep::config {

namespace {

int host_rank(const Route& r) {
    if (r.host.empty()) return 0;
    return r.host.starts_with("*.") ? 1 : 2;
}

// `path` before any prefix, then longer prefixes first.
size_t path_rank(const Route& r) {
    if (!r.path.empty()) return SIZE_MAX;
    return r.path_prefix.size();
}

size_t conditions(const Route& r) {
    return size_t(!r.host.empty()) + size_t(!r.path.empty()) + size_t(!r.path_prefix.empty()) +
           size_t(!r.methods.empty()) + r.headers.size();
}

}  // namespace

void sort_routes(std::vector<Route>& routes) {
    std::stable_sort(routes.begin(), routes.end(), [](const Route& a, const Route& b) {
        // greater-is-first on each key, then file order
        return std::make_tuple(a.priority, host_rank(a), path_rank(a), conditions(a), -a.ordinal) >
               std::make_tuple(b.priority, host_rank(b), path_rank(b), conditions(b), -b.ordinal);
    });
}

}  // namespace ep::config
