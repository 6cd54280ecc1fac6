// fuzz_http_request.cpp: libFuzzer target for the stats endpoint's
// request-head reader. Besides memory errors it checks what the endpoint
// relies on: views point into the input, a complete head has its request
// line, and the answer never changes its mind as bytes arrive: each prefix of
// a complete head still needs more, and an error stays the same error.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/http_request.hpp"

namespace {

using ep::net::HeadStatus;

void check(bool ok) {
    if (!ok) std::abort();
}

void check_inside(std::string_view view, std::string_view data) {
    check(view.empty() || (view.data() >= data.data() && view.data() + view.size() <= data.data() + data.size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
    const std::string_view data(reinterpret_cast<const char*>(bytes), size);
    ep::net::HttpRequest req;
    const ep::net::HeadResult result = ep::net::parse_request_head(data, req);
    for (std::string_view v : {req.method, req.target, req.version, req.query}) check_inside(v, data);
    if (req.path != "/") check_inside(req.path, data);  // "/" stands for an empty path: "http://host"
    if (result.status == HeadStatus::Complete) {
        check(!req.method.empty() && !req.target.empty() && req.version.starts_with("HTTP/"));
        check(*result.reason == '\0');
    } else if (result.status != HeadStatus::NeedMore) {
        check(*result.reason != '\0');
    }
    // Bytes arrive in pieces: every prefix must agree with the whole.
    const size_t step = size > 512 ? size / 64 : 1;
    for (size_t n = 0; n < size; n += step) {
        ep::net::HttpRequest partial;
        const HeadStatus s = ep::net::parse_request_head(data.substr(0, n), partial).status;
        if (result.status == HeadStatus::Complete || result.status == HeadStatus::NeedMore)
            check(s == HeadStatus::NeedMore || s == HeadStatus::Complete);
        else
            check(s == HeadStatus::NeedMore || s == result.status);
    }
    return 0;
}
