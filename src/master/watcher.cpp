// watcher.cpp: the inotify side of `global.watch`: directory watches filtered
// by file name, and the settling of a burst of changes into one reload.
#include "master/watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "util/log.hpp"

namespace ep::master {

void Settle::changed(uint64_t now_ms) {
    if (!pending_) first_ms_ = now_ms;
    pending_ = true;
    last_ms_ = now_ms;
}

uint64_t Settle::due_at() const {
    if (!pending_) return UINT64_MAX;
    return std::min(last_ms_ + kQuietMs, first_ms_ + kMaxDelayMs);
}

bool Settle::due(uint64_t now_ms) {
    if (!pending_ || now_ms < due_at()) return false;
    pending_ = false;
    return true;
}

namespace {

// Close-write, not modify: a writer that keeps the file open between its
// writes has finished only when it closes it. The others cover a file replaced
// by a rename or a new link, removed, or given new permissions.
constexpr uint32_t kEvents =
    IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_ONLYDIR | IN_EXCL_UNLINK;

void split(const std::string& path, std::string& dir, std::string& name) {
    const size_t slash = path.rfind('/');
    if (slash == std::string::npos) {
        dir = ".";
        name = path;
    } else {
        dir = slash == 0 ? "/" : path.substr(0, slash);
        name = path.substr(slash + 1);
    }
}

}  // namespace

void Watcher::watch(const std::vector<std::string>& files) {
    std::map<std::string, std::set<std::string>> wanted;
    for (const std::string& file : files) {
        std::string dir, name;
        split(file, dir, name);
        if (!name.empty()) wanted[dir].insert(name);
        // A symlinked file also changes where its target lives.
        if (char* real = ::realpath(file.c_str(), nullptr)) {
            if (file != real) {
                split(real, dir, name);
                wanted[dir].insert(name);
            }
            std::free(real);
        }
    }
    if (wanted.empty()) {
        fd_.reset();  // closing it removes every watch
        dirs_.clear();
        names_.clear();
        unwatchable_.clear();
        settle_ = Settle{};
        return;
    }
    if (!fd_) {
        fd_.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
        if (!fd_) {
            LOG_ERROR("watch: inotify_init1: %s; configuration changes are not watched", std::strerror(errno));
            return;
        }
    }
    for (auto it = dirs_.begin(); it != dirs_.end();) {
        if (wanted.count(it->second)) {
            ++it;
            continue;
        }
        ::inotify_rm_watch(fd_.get(), it->first);
        it = dirs_.erase(it);
    }
    for (const auto& [dir, names] : wanted) {
        // Adding a directory already watched returns its descriptor again.
        const int wd = ::inotify_add_watch(fd_.get(), dir.c_str(), kEvents);
        if (wd < 0) {
            if (unwatchable_.insert(dir).second)
                LOG_WARN("watch: cannot watch %s: %s; changes to %s are not seen", dir.c_str(), std::strerror(errno),
                         names.begin()->c_str());
            continue;
        }
        unwatchable_.erase(dir);
        dirs_[wd] = dir;
    }
    names_ = std::move(wanted);
}

void Watcher::append_pollfds(std::vector<pollfd>& out) const {
    if (fd_) out.push_back(pollfd{fd_.get(), POLLIN, 0});
}

void Watcher::process(std::span<const pollfd> ready, uint64_t now_ms) {
    if (!ready.empty() && ready[0].revents) read_events(now_ms);
}

void Watcher::read_events(uint64_t now_ms) {
    alignas(inotify_event) char buf[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
    for (;;) {
        const ssize_t n = ::read(fd_.get(), buf, sizeof buf);
        if (n <= 0) {
            if (n < 0 && errno == EINTR) continue;
            return;  // EAGAIN: all read
        }
        for (ssize_t off = 0; off < n;) {
            const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
            off += ssize_t(sizeof(inotify_event) + ev->len);
            if (ev->mask & IN_Q_OVERFLOW) {  // events were lost: one of them may be ours
                if (!settle_.pending()) first_changed_ = "events lost";
                settle_.changed(now_ms);
                continue;
            }
            const auto dir = dirs_.find(ev->wd);
            if (dir == dirs_.end()) continue;
            if (ev->mask & IN_IGNORED) {  // the directory is gone
                dirs_.erase(dir);
                continue;
            }
            if (ev->len == 0) continue;
            const auto names = names_.find(dir->second);
            if (names == names_.end() || !names->second.count(ev->name)) continue;
            if (!settle_.pending())
                first_changed_ = dir->second == "." ? std::string(ev->name)
                                 : dir->second == "/" ? "/" + std::string(ev->name)
                                                      : dir->second + "/" + ev->name;
            settle_.changed(now_ms);
        }
    }
}

std::string Watcher::changed(uint64_t now_ms) {
    if (!settle_.due(now_ms)) return {};
    return std::exchange(first_changed_, std::string());
}

}  // namespace ep::master
