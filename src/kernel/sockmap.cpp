// sockmap.cpp: loading the in-kernel relay (libbpf) and the map updates a
// worker makes to hand a socket pair to it or take it back.
#include "kernel/sockmap.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdarg>
#include <cstring>
#include <utility>

// The program, compiled by clang at build time (src/kernel/relay_object.cpp).
extern "C" const char ep_relay_bpf_start[];
extern "C" const char ep_relay_bpf_end[];

namespace ep::kernel {

namespace {

std::string g_libbpf_said;  // libbpf's last message while loading

int collect_libbpf(enum libbpf_print_level level, const char* format, va_list args) {
    if (level == LIBBPF_DEBUG) return 0;
    char line[512];
    vsnprintf(line, sizeof line, format, args);
    g_libbpf_said = line;
    while (!g_libbpf_said.empty() && (g_libbpf_said.back() == '\n' || g_libbpf_said.back() == ' '))
        g_libbpf_said.pop_back();
    return 0;
}

bool cookie_of(int fd, uint64_t& cookie) {
    socklen_t len = sizeof cookie;
    return ::getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len) == 0;
}

// Only an established socket may enter a SOCKMAP (EOPNOTSUPP otherwise): a
// peer that already sent FIN keeps its pair with the worker.
bool established(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    return ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == BPF_TCP_ESTABLISHED;
}

// A socket in the SOCKMAP runs the program on the next segment only; one
// SO_RCVLOWAT call runs it at once on what is already queued.
void run_on_queued(int fd) {
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &one, sizeof one);
}

}  // namespace

uint64_t queued_bytes(int fd) {
    tcp_info info{};
    socklen_t len = sizeof info;
    int outq = 0;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 || ::ioctl(fd, SIOCOUTQ, &outq) != 0 ||
        len < offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked)
        return kNoCount;
    return info.tcpi_bytes_acked + uint64_t(outq);
}

bool has_unread(int fd) {
    int inq = 0;
    return ::ioctl(fd, SIOCINQ, &inq) != 0 || inq > 0;
}

bool peer_closed(int fd) { return !established(fd); }

std::unique_ptr<Sockmap> Sockmap::load(uint32_t slots, uint32_t per_slot, std::string& why) {
    std::unique_ptr<Sockmap> m(new Sockmap());
    // A slot's flows fill whole pages, so that a worker maps its own only.
    m->per_slot_ = (per_slot + kFlowsPerPage / 2 - 1) / (kFlowsPerPage / 2) * (kFlowsPerPage / 2);
    m->count_ = slots * m->per_slot_ * 2;
    libbpf_set_print(collect_libbpf);
    g_libbpf_said.clear();
    auto fail = [&](const char* step, int err) {
        why = std::string(step) + ": " + std::strerror(err < 0 ? -err : err);
        if (!g_libbpf_said.empty()) why += " (" + g_libbpf_said + ")";  // libbpf names itself
        return nullptr;
    };
    LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = "easyproxy_relay");
    m->obj_ = bpf_object__open_mem(ep_relay_bpf_start, size_t(ep_relay_bpf_end - ep_relay_bpf_start), &opts);
    if (!m->obj_) return fail("cannot open the BPF object", errno);
    for (const char* name : {"ep_socks", "ep_flow_of", "ep_flows"}) {
        bpf_map* map = bpf_object__find_map_by_name(m->obj_, name);
        if (!map || bpf_map__set_max_entries(map, m->count_) != 0) return fail("cannot size the maps", EINVAL);
    }
    if (int err = bpf_object__load(m->obj_); err != 0) return fail("cannot load the BPF program", err);
    m->socks_ = bpf_object__find_map_fd_by_name(m->obj_, "ep_socks");
    m->flow_of_ = bpf_object__find_map_fd_by_name(m->obj_, "ep_flow_of");
    m->flows_fd_ = bpf_object__find_map_fd_by_name(m->obj_, "ep_flows");
    bpf_program* prog = bpf_object__find_program_by_name(m->obj_, "ep_relay");
    if (!prog || m->socks_ < 0 || m->flow_of_ < 0 || m->flows_fd_ < 0) return fail("incomplete BPF object", EINVAL);
    if (bpf_prog_attach(bpf_program__fd(prog), m->socks_, BPF_SK_SKB_STREAM_VERDICT, 0) != 0)
        return fail("cannot attach the stream verdict program", errno);
    return m;
}

bool Sockmap::map_slot(uint32_t slot) {
    const size_t bytes = size_t(per_slot_) * 2 * sizeof(ep_flow);
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, flows_fd_, off_t(slot) * off_t(bytes));
    if (p == MAP_FAILED) return false;
    flows_ = static_cast<ep_flow*>(p);
    flows_bytes_ = bytes;
    first_flow_ = slot * per_slot_ * 2;
    return true;
}

Sockmap::~Sockmap() {
    if (flows_) ::munmap(flows_, flows_bytes_);
    if (obj_) bpf_object__close(obj_);
}

std::vector<int> Sockmap::fds() const { return {socks_, flow_of_, flows_fd_}; }

Attach Sockmap::attach(int client, int server, uint32_t up, uint32_t down, uint32_t window, bool hold_up,
                       bool hold_down) {
    if (up >= count_ || down >= count_) {
        errno = ENOSPC;
        return Attach::Refused;
    }
    if (!established(client) || !established(server)) {
        errno = ENOTCONN;
        return Attach::Refused;
    }
    uint64_t client_cookie = 0, server_cookie = 0;
    if (!cookie_of(client, client_cookie) || !cookie_of(server, server_cookie)) return Attach::Refused;
    for (auto [index, hold] : {std::pair{up, hold_up}, std::pair{down, hold_down}}) {
        ep_flow& f = flow(index);
        f = ep_flow{};
        f.window = window;
        f.consumed = hold ? ~0ull : 0;  // never equal to passed: the program passes
    }
    const uint64_t to_server = uint64_t(server), to_client = uint64_t(client);
    // Flows first, sockets last: the program runs on a socket only once it
    // is in the SOCKMAP; until its peer is in too, it passes.
    if (bpf_map_update_elem(flow_of_, &client_cookie, &up, BPF_ANY) != 0 ||
        bpf_map_update_elem(flow_of_, &server_cookie, &down, BPF_ANY) != 0 ||
        bpf_map_update_elem(socks_, &up, &to_server, BPF_ANY) != 0) {
        const int err = errno;
        detach(client, server);
        errno = err;
        return Attach::Refused;
    }
    // The server socket is in: its passed bytes live in its psock now, and
    // taking it out would drop them.
    if (bpf_map_update_elem(socks_, &down, &to_client, BPF_ANY) != 0) {
        const int err = errno;
        detach(client, server);
        errno = err;
        return Attach::Broken;
    }
    run_on_queued(client);
    run_on_queued(server);
    return Attach::Done;
}

void Sockmap::detach(int client, int server) {
    for (int fd : {client, server}) {
        uint64_t cookie = 0;
        if (cookie_of(fd, cookie)) bpf_map_delete_elem(flow_of_, &cookie);
    }
}

void Sockmap::forget_slot(uint32_t slot) {
    const uint32_t first = slot * per_slot_ * 2, last = first + per_slot_ * 2;
    std::vector<uint64_t> stale;
    uint64_t key = 0, next = 0;
    const uint64_t* at = nullptr;
    while (bpf_map_get_next_key(flow_of_, at, &next) == 0) {
        uint32_t index = 0;
        if (bpf_map_lookup_elem(flow_of_, &next, &index) == 0 && index >= first && index < last) stale.push_back(next);
        key = next;
        at = &key;
    }
    for (uint64_t k : stale) bpf_map_delete_elem(flow_of_, &k);
}

}  // namespace ep::kernel
