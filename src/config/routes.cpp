// routes.cpp: the match order of an entry point's routes (DESIGN.md §8), fixed
// once at load so that the worker tries routes first to last, and `-t` and
// `epstat routes` show the same order; and the one-line text of a route.
#include <algorithm>
#include <string>
#include <string_view>
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

std::string route_text(const Route& r) {
    std::string out;
    auto add = [&](std::string_view item) {
        if (!out.empty()) out += ' ';
        out += item;
    };
    if (r.has_priority) add("priority=" + std::to_string(r.priority));
    if (!r.host.empty()) add("host=" + r.host);
    if (!r.path.empty()) add("path=" + r.path);
    if (!r.path_prefix.empty()) add("path_prefix=" + r.path_prefix);
    if (!r.methods.empty()) {
        std::string methods;
        for (const auto& m : r.methods) methods += (methods.empty() ? "" : ",") + m;
        add("methods=" + methods);
    }
    for (const auto& [name, value] : r.headers) add("header " + name + "=\"" + value + "\"");
    if (out.empty()) out = "any";
    return out + " -> " + r.service;
}

}  // namespace ep::config
