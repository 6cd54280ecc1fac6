// test_poller.cpp: the worker's event backends refuse to start, saying why,
// when the kernel gives them no descriptor (a worker must not run a loop on
// fd -1). Each case runs in a forked child whose open-file limit is used up.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "worker/poller.hpp"

// CppUTest last: its leak-detector macros must not see std headers.
#include <CppUTest/TestHarness.h>

namespace {

using Factory = std::unique_ptr<ep::worker::Poller> (*)(std::string&);

// Exit codes of the child: 0 when the factory refused with `expected`.
enum : int { kRefused = 0, kStarted = 10, kWrongError = 11, kSetupFailed = 12 };

int run_without_free_fds(Factory make, const char* expected) {
    std::fflush(nullptr);
    const pid_t child = ::fork();
    if (child == 0) {
        // The lowest free descriptor becomes the limit: the next one fails with EMFILE.
        const int probe = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (probe < 0) _exit(kSetupFailed);
        ::close(probe);
        rlimit rl{rlim_t(probe), rlim_t(probe)};
        if (::setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(kSetupFailed);
        std::string error;
        const std::unique_ptr<ep::worker::Poller> poller = make(error);
        if (poller) _exit(kStarted);
        _exit(error == expected ? kRefused : kWrongError);
    }
    int status = 0;
    if (child < 0 || ::waitpid(child, &status, 0) != child || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status);
}

}  // namespace

TEST_GROUP(Poller){};

TEST(Poller, EpollWithoutADescriptorRefusesToStart) {
    LONGS_EQUAL(kRefused, run_without_free_fds(ep::worker::make_epoll_poller, "epoll_create1: Too many open files"));
}

TEST(Poller, PollWithoutItsPipesRefusesToStart) {
    LONGS_EQUAL(kRefused, run_without_free_fds(ep::worker::make_poll_poller, "pipe2: Too many open files"));
}

TEST(Poller, BothStartWhenDescriptorsAreFree) {
    std::string error;
    CHECK(ep::worker::make_epoll_poller(error) != nullptr);
    CHECK(ep::worker::make_poll_poller(error) != nullptr);
    STRCMP_EQUAL("", error.c_str());
}
