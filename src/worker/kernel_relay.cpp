// kernel_relay.cpp: relay = "sockmap": once a connection is established and
// nothing is left unread on its sockets, the worker hands both to the kernel
// (kernel/sockmap.hpp) and only looks on: it passes FINs on, and forwards the
// bytes the program left on a socket (its destination was not in the map
// yet, or too many redirected bytes waited for it). Invariant of a flow: every
// byte the program passed follows every byte it redirected, so passed bytes
// are sent only once the destination's psock queue is empty (backlog 0), and
// the program redirects again only once they are all sent.
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "kernel/sockmap.hpp"
#include "util/log.hpp"
#include "worker/worker_loop.hpp"

namespace ep::worker {

namespace {

// Redirected bytes of a flow that may wait for the destination's send
// buffer: what a reader that stops reading can leave queued in the kernel
// besides the socket buffers (past it the worker takes the flow over until
// the destination catches up).
constexpr uint32_t kWindow = 1u << 20;
constexpr uint8_t kMaxWaitMs = 64;  // re-check back-off of a held flow: 1, 2, 4 ... 64 ms

uint64_t load(__u64& field) { return std::atomic_ref<__u64>(field).load(std::memory_order_acquire); }
void store(__u64& field, uint64_t value) { std::atomic_ref<__u64>(field).store(value, std::memory_order_release); }

}  // namespace

void Worker::hand_to_kernel(Connection& c) {
    if (!sockmap_ || c.kernel_n >= 0 || c.phase != Phase::Relaying || free_kernel_.empty()) return;
    const config::Service& sc = upstreams_[c.service].config();
    if (sc.relay != config::Relay::Sockmap || c.secure()) return;
    if (c.up.eof || c.down.eof) return;
    if (c.bytes_in + c.bytes_out < sc.sockmap_after) return;
    if ((c.bytes_in && kernel::has_unread(c.client.get())) || (c.bytes_out && kernel::has_unread(c.server.get())))
        return;  // maybe the rest of a segment the worker read part of: handed over once read
    const int32_t n = free_kernel_.back();
    const uint32_t up = sockmap_->flow_index(setup_.slot, uint32_t(n), false);
    const uint32_t down = sockmap_->flow_index(setup_.slot, uint32_t(n), true);
    // What the destination has queued so far; the worker's bytes sent from
    // here on are counted as `written`, the program's as `redirected`.
    const uint64_t to_server = kernel::queued_bytes(c.server.get());
    const uint64_t to_client = kernel::queued_bytes(c.client.get());
    if (to_server == kernel::kNoCount || to_client == kernel::kNoCount) return;
    // A direction with bytes still buffered here starts passed: the worker
    // sends those first, then what the program passed, then lets it redirect.
    switch (sockmap_->attach(c.client.get(), c.server.get(), up, down, kWindow, c.up.pending(), c.down.pending())) {
    case kernel::Attach::Refused:
        if (errno == ENOTCONN) return;  // a side already sent FIN: the worker finishes the pair
        if (now_ >= next_local_error_log_) {
            next_local_error_log_ = now_ + 1000;
            LOG_WARN("%s: relay = \"sockmap\": the kernel refused a connection (%s); the worker relays it",
                     sc.name.c_str(), std::strerror(errno));
        }
        return;
    case kernel::Attach::Broken:
        LOG_WARN("%s: relay = \"sockmap\": a connection was half handed to the kernel (%s); closing it",
                 sc.name.c_str(), std::strerror(errno));
        close_connection(c, "RD");
        return;
    case kernel::Attach::Done: break;
    }
    free_kernel_.pop_back();
    c.kernel_n = n;
    c.kup = KernelFlow{};
    c.kup.index = up;
    c.kup.base_queued = to_server;
    c.kdown = KernelFlow{};
    c.kdown.index = down;
    c.kdown.base_queued = to_client;
    for (Flow* f : {&c.up, &c.down})
        if (f->piped == 0) release_pipe(*f);  // else emptied first, by splice()
    slot_.kernel_relays.fetch_add(1, std::memory_order_relaxed);
    // Bytes that arrived while only one socket was in the map were passed:
    // sent on here.
    if (!kernel_pump(c, c.up, c.kup, c.client.get(), c.server.get(), true)) return;
    if (!kernel_pump(c, c.down, c.kdown, c.server.get(), c.client.get(), false)) return;
    update_interest(c);
}

void Worker::kernel_io(Connection& c, int fd, uint32_t events) {
    const bool is_client = fd == c.client.get();
    const int other = is_client ? c.server.get() : c.client.get();
    Flow& incoming = is_client ? c.up : c.down;
    Flow& outgoing = is_client ? c.down : c.up;
    KernelFlow& kin = is_client ? c.kup : c.kdown;
    KernelFlow& kout = is_client ? c.kdown : c.kup;
    // Buffered bytes go out (and the flow reads on) through kernel_pump,
    // which holds them while redirected bytes wait before them.
    if ((events & (kWrite | kError)) && outgoing.pending() && !outgoing.held)
        if (!kernel_pump(c, outgoing, kout, other, fd, !is_client)) return;
    if ((events & (kRead | kError)) && !incoming.done() && !incoming.pending() && !incoming.held)
        if (!kernel_pump(c, incoming, kin, fd, other, is_client)) return;
    if (!closed_after_io(c, fd, events)) update_interest(c);
}

// The worker's part of a flow: forward what the program passed (once the
// destination's psock queue is empty), see the source's FIN, let the program
// redirect again. Returns false when the connection was closed.
bool Worker::kernel_pump(Connection& c, Flow& f, KernelFlow& k, int from, int to, bool upstream) {
    f.held = false;  // whatever held the flow is looked at again below
    ep_flow& st = sockmap_->flow(k.index);
    for (;;) {
        if (f.pending()) {
            if (kernel_backlog(k, to) != 0) {
                kernel_hold(c, f);
                return true;
            }
            if (!kernel_flush(c, f, k, to)) return false;
            if (f.pending()) return true;  // the destination is full: on when writable
        }
        // Nothing is buffered here: once every passed byte is read, every
        // one is sent too, and the program may redirect again. (A socket in
        // the SOCKMAP reads only what the program passed, in order.)
        if (const uint32_t why = std::atomic_ref<__u32>(st.broken).load(std::memory_order_acquire)) {
            LOG_WARN("%s: relay = \"sockmap\": could not cut the start of a retransmitted segment (%s); closing the "
                     "connection",
                     upstreams_[c.service].config().name.c_str(),
                     why == EP_BROKEN_NO_SEQ    ? "no sequence number"
                     : why == EP_BROKEN_TOO_LONG ? "overlap too long"
                                                 : std::strerror(int(why)));
            close_connection(c, "RD");
            return false;
        }
        const uint64_t passed = load(st.passed);
        if (k.read >= passed) kernel_grant(k, passed);
        if (k.fin && k.read >= passed) return kernel_finish(c, f, k, to);
        // A socket in the SOCKMAP wakes the worker for every segment, even
        // one the program redirected: read only when there is something to
        // (a read there may also run the program and race its accounting).
        if (k.read >= passed && !k.fin && !kernel::peer_closed(from)) return true;
        if (!f.buf) f.buf = pool_.take();
        const ssize_t n = ::recv(from, f.buf, BufferPool::kBufferSize, MSG_DONTWAIT);
        if (n > 0) {
            k.read += uint64_t(n);
            c.last_active_ms = now_;
            count_bytes(c, upstream, size_t(n));
            f.start = 0;
            f.end = uint32_t(n);
            continue;
        }
        release_buffer(f);
        if (n == 0) {
            k.fin = true;
            return kernel_finish(c, f, k, to);
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return true;  // woken when more is passed
        close_connection(c, upstream ? "CD" : "SD");
        return false;
    }
}

bool Worker::kernel_flush(Connection& c, Flow& f, KernelFlow& k, int to) {
    // f.eof stays false until kernel_finish: flush() passes no FIN here.
    const uint32_t before = f.end - f.start;
    if (!flush(c, f, to)) return false;
    k.written += before - (f.end - f.start);
    store(sockmap_->flow(k.index).written, k.written);
    if (!f.pending() && k.fin) return kernel_finish(c, f, k, to);
    return true;
}

// The source sent FIN: passed on once every byte before it is in the
// destination's send queue (nothing unread, nothing buffered, backlog 0).
bool Worker::kernel_finish(Connection& c, Flow& f, KernelFlow& k, int to) {
    if (f.shut || f.pending()) return true;
    if (load(sockmap_->flow(k.index).passed) > k.read || kernel_backlog(k, to) != 0) {
        kernel_hold(c, f);
        return true;
    }
    f.eof = true;
    f.held = false;
    pass_fin(c, f, to);
    return true;
}

// Redirected bytes still in the destination's psock queue: not yet in its
// send queue (TCP_INFO bytes_acked + SIOCOUTQ).
uint64_t Worker::kernel_backlog(const KernelFlow& k, int to) {
    const uint64_t redirected = load(sockmap_->flow(k.index).redirected);
    const uint64_t queued = kernel::queued_bytes(to);
    if (queued == kernel::kNoCount) return 0;  // a broken socket: its next send says so
    const uint64_t by_kernel = queued - k.base_queued - k.written;
    return redirected > by_kernel ? redirected - by_kernel : 0;
}

// Everything passed up to `passed` is read and sent (and `written` says so
// already): the program may redirect again.
void Worker::kernel_grant(KernelFlow& k, uint64_t passed) {
    ep_flow& st = sockmap_->flow(k.index);
    if (load(st.consumed) != passed) store(st.consumed, passed);
}

void Worker::kernel_hold(Connection& c, Flow& f) {
    f.held = true;
    c.kernel_wait_ms = c.kernel_wait_ms ? uint8_t(std::min<int>(c.kernel_wait_ms * 2, kMaxWaitMs)) : 1;
    if (!c.armed()) timers_.arm(c, now_ + c.kernel_wait_ms);
}

void Worker::kernel_recheck(Connection& c) {
    bool progressed = true;
    if (c.up.held) {
        if (!kernel_pump(c, c.up, c.kup, c.client.get(), c.server.get(), true)) return;
        progressed = !c.up.held;
    }
    if (c.down.held) {
        if (!kernel_pump(c, c.down, c.kdown, c.server.get(), c.client.get(), false)) return;
        progressed = progressed && !c.down.held;
    }
    if (progressed) c.kernel_wait_ms = 0;
    if (c.up.done() && c.down.done()) {
        close_connection(c, "--");
        return;
    }
    update_interest(c);
}

// The program's byte counts go to the same counters as the worker's own.
void Worker::kernel_count(Connection& c) {
    for (bool upstream : {true, false}) {
        KernelFlow& k = upstream ? c.kup : c.kdown;
        const uint64_t redirected = load(sockmap_->flow(k.index).redirected);
        if (redirected == k.counted) continue;
        const uint64_t delta = redirected - k.counted;
        k.counted = redirected;
        count_bytes(c, upstream, size_t(delta));
        slot_.bytes_kernel.fetch_add(delta, std::memory_order_relaxed);
        c.last_active_ms = now_;
    }
}

void Worker::kernel_release(Connection& c) {
    kernel_count(c);
    sockmap_->detach(c.client.get(), c.server.get());
    free_kernel_.push_back(c.kernel_n);
    c.kernel_n = -1;
    c.up.held = c.down.held = false;
}

}  // namespace ep::worker
