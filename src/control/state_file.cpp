// state_file.cpp: reading and atomically replacing the server-state file
// (format in state_file.hpp).
#include "control/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "control/protocol.hpp"
#include "util/unique_fd.hpp"

namespace ep::control {

namespace {

std::string errno_text(const std::string& what, const std::string& path) {
    return what + " " + path + ": " + std::strerror(errno);
}

bool write_all(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += size_t(n);
    }
    return true;
}

std::string dir_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

const char* admin_word(shm::AdminState a) {
    switch (a) {
        case shm::AdminState::Ready: return "ready";
        case shm::AdminState::Drain: return "drain";
        case shm::AdminState::Maint: return "maint";
    }
    return "ready";
}

}  // namespace

std::string state_line(const StateEntry& e) {
    return e.service + "/" + e.server + " " + admin_word(e.admin) + " " +
           (e.weight < 0 ? std::string("-") : std::to_string(e.weight));
}

bool parse_state_line(const std::string& line, StateEntry& out, std::string& reason) {
    std::istringstream in(line);
    std::string target_word, admin_word_text, weight_word, extra;
    if (!(in >> target_word >> admin_word_text >> weight_word)) {
        reason = "expected SERVICE/SERVER ADMIN WEIGHT";
        return false;
    }
    if (in >> extra) {
        reason = "unexpected \"" + extra + "\" after WEIGHT";
        return false;
    }
    Target target;
    if (!parse_target(target_word, target, reason)) return false;
    if (target.all_servers()) {
        reason = "expected SERVICE/SERVER, got \"" + target_word + "\"";
        return false;
    }
    StateEntry e;
    e.service = target.service;
    e.server = target.server;
    if (admin_word_text == "ready") e.admin = shm::AdminState::Ready;
    else if (admin_word_text == "drain") e.admin = shm::AdminState::Drain;
    else if (admin_word_text == "maint") e.admin = shm::AdminState::Maint;
    else {
        reason = "unknown admin state \"" + admin_word_text + "\"";
        return false;
    }
    if (weight_word != "-") {
        const bool digits = !weight_word.empty() && weight_word.size() <= 3 &&
                            weight_word.find_first_not_of("0123456789") == std::string::npos;
        const int w = digits ? std::stoi(weight_word) : -1;
        if (!digits || w > kMaxWeight) {
            reason = "weight must be between 0 and " + std::to_string(kMaxWeight) + " or - (got \"" + weight_word +
                     "\")";
            return false;
        }
        e.weight = w;
    }
    out = std::move(e);
    return true;
}

bool save_state(const std::string& path, const std::vector<StateEntry>& entries, std::string& error) {
    std::string data =
        "# easyproxy server state: SERVICE/SERVER ADMIN WEIGHT (written by easyproxy, do not edit while it runs)\n";
    for (const auto& e : entries) data += state_line(e) + "\n";

    // mkstemp in the target's directory: rename() is atomic only within one
    // file system, and a fixed tmp name could collide with another writer.
    std::string tmp = path + ".XXXXXX";
    UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
    if (!fd) {
        error = errno_text("cannot create temporary file for", path);
        return false;
    }
    auto fail = [&](const char* what) {
        error = errno_text(what, tmp);
        ::unlink(tmp.c_str());
        return false;
    };
    if (::fchmod(fd.get(), 0644) != 0) return fail("cannot chmod");
    if (!write_all(fd.get(), data)) return fail("cannot write");
    if (::fsync(fd.get()) != 0) return fail("cannot fsync");
    // close() can report a deferred write error (NFS); check it before renaming.
    if (::close(fd.release()) != 0) return fail("cannot close");
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
        error = errno_text("cannot rename " + tmp + " to", path);
        ::unlink(tmp.c_str());
        return false;
    }
    // Make the rename itself durable.
    UniqueFd dir(::open(dir_of(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) ::fsync(dir.get());
    return true;
}

bool load_state(const std::string& path, std::vector<StateEntry>& entries, std::vector<std::string>& warnings,
                std::string& error) {
    entries.clear();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) {
        if (errno == ENOENT) return true;
        error = errno_text("cannot read", path);
        return false;
    }
    std::string data;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buf, sizeof buf);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            error = errno_text("cannot read", path);
            return false;
        }
        data.append(buf, size_t(n));
    }
    std::istringstream in(data);
    std::string line;
    int number = 0;
    while (std::getline(in, line)) {
        ++number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        const size_t first = line.find_first_not_of(" \t");
        if (first == std::string::npos || line[first] == '#') continue;
        StateEntry e;
        std::string reason;
        if (!parse_state_line(line, e, reason)) {
            warnings.push_back(path + ":" + std::to_string(number) + ": " + reason + ", line skipped");
            continue;
        }
        entries.push_back(std::move(e));
    }
    return true;
}

}  // namespace ep::control
