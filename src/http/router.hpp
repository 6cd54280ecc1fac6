// router.hpp: which route of an entry point a request takes (DESIGN.md §8,
// research/http.md §6): the host and path are normalised for matching only,
// then the routes, already in match order, are tried first to last. Pure: no
// I/O, no allocation per request.
#pragma once
#include <cstddef>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "http/message.hpp"

namespace ep::http {

// Host as matched: lower-cased, ":port" and one trailing dot removed. False
// when it does not fit in `cap` (then no host route can match).
bool normalise_host(std::string_view host, char* out, size_t cap, size_t& len);

// Path as matched: `%XX` of unreserved characters (A-Za-z0-9-._~) decoded,
// every other escape kept as sent (never `%2F`), `//` literal. False for a
// `.` or `..` segment (also written `%2e`), which is answered 400, or when it
// does not fit in `cap`.
bool normalise_path(std::string_view path, char* out, size_t cap, size_t& len);

class Router {
public:
    static constexpr int kNoRoute = -1;   // 404
    static constexpr int kBadPath = -2;   // 400

    // `routes` are in match order (config::sort_routes) and outlive the router.
    explicit Router(const std::vector<config::Route>& routes);

    // The index of the first route whose conditions all hold, or kNoRoute /
    // kBadPath. The host is the Host field, or the absolute-form authority.
    int match(const Head& req, const char* buf);

    // Of the last match(): the normalised host and path (valid until the next call).
    std::string_view host() const;
    std::string_view path() const;

private:
    // (implementation's compiled form of each route: see router.cpp)
    struct Compiled;
    std::vector<Compiled> compiled_;
    char host_[256];
    size_t host_len_ = 0;
    char path_[kMaxTarget];
    size_t path_len_ = 0;
public:
    ~Router();
    Router(Router&&) noexcept;
    Router& operator=(Router&&) noexcept;
};

}  // namespace ep::http
