// fuzz_config.cpp: libFuzzer target for the config loader, fed the way the
// daemon is: from a file. The input is written to main.conf in a scratch
// directory; a line "%%%" splits off the text of part.conf, which main.conf
// may @include. Any ConfigError is a valid outcome, except the loader's
// "internal error" (its two readings of the text disagreed).
#include <dlfcn.h>
#include <netdb.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "config/loader.hpp"

namespace {

const std::string& scratch_dir() {
    static const std::string dir = [] {
        char path[] = "/tmp/ep-fuzz-config-XXXXXX";
        if (!mkdtemp(path)) std::abort();
        return std::string(path);
    }();
    return dir;
}

void write_file(const std::string& path, std::string_view text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc).write(text.data(), std::streamsize(text.size()));
}

// An @include must stay inside the scratch directory: no '/' and no "..".
bool includes_stay_inside(std::string_view text) {
    for (size_t at = text.find("@include"); at != std::string_view::npos; at = text.find("@include", at + 1)) {
        const size_t open = text.find('"', at);
        const size_t close = open == std::string_view::npos ? open : text.find('"', open + 1);
        const std::string_view name = text.substr(open == std::string_view::npos ? text.size() : open + 1,
                                                  close == std::string_view::npos ? std::string_view::npos
                                                                                  : close - open - 1);
        if (name.find('/') != std::string_view::npos || name.find("..") != std::string_view::npos ||
            name.find('\\') != std::string_view::npos)
            return false;
    }
    return true;
}

}  // namespace

// Host names would send every input to the resolver: only numeric hosts are
// looked up (libc's getaddrinfo with AI_NUMERICHOST), the others fail at once.
extern "C" int getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                           struct addrinfo** res) {
    using Real = int (*)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
    static const Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "getaddrinfo"));
    struct addrinfo numeric = hints ? *hints : addrinfo{};
    numeric.ai_flags |= AI_NUMERICHOST;
    return real(node, service, &numeric, res);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (!includes_stay_inside(input)) return -1;  // not added to the corpus
    const size_t split = input.find("\n%%%\n");
    const std::string main_path = scratch_dir() + "/main.conf";
    write_file(main_path, input.substr(0, split));
    write_file(scratch_dir() + "/part.conf",
               split == std::string_view::npos ? std::string_view() : input.substr(split + 5));
    try {
        ep::config::load_file(main_path);
    } catch (const ep::config::ConfigError& e) {
        for (const auto& d : e.diagnostics()) {
            if (d.message.starts_with("internal error:")) {
                std::fprintf(stderr, "%s\n", d.str().c_str());
                std::abort();
            }
        }
    }
    return 0;
}
