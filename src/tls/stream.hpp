// stream.hpp: the I/O seam between a connection's handler and its socket: the
// bytes go through recv()/send() on a plain socket, or through SSL_read/
// SSL_write once a TLS session is set. The handlers (TCP relay, HTTP session)
// call the same four functions either way; a TLS operation that must wait for
// the socket says which way (wants()), so the handler asks the poller for it.
#pragma once
#include <openssl/ssl.h>
#include <sys/types.h>

#include <cstdint>
#include <utility>

namespace ep::tls {

// Why a handshake failed, as the stats count it.
enum class Failure : uint8_t { NoSharedCipher, UnknownCa, Timeout, Protocol, Other };
inline constexpr size_t kFailureKinds = 5;
const char* failure_name(Failure f);  // "no_shared_cipher", "unknown_ca", ...

// Directions a blocked TLS call waits for (the poller's kRead and kWrite).
inline constexpr uint32_t kWantRead = 1;
inline constexpr uint32_t kWantWrite = 2;

class Stream {
public:
    Stream() = default;
    explicit Stream(SSL* ssl) : ssl_(ssl) {}
    ~Stream() { end(); }
    Stream(Stream&& o) noexcept : ssl_(std::exchange(o.ssl_, nullptr)), wants_(o.wants_), broken_(o.broken_) {}
    Stream& operator=(Stream&& o) noexcept {
        if (this != &o) {
            end();
            ssl_ = std::exchange(o.ssl_, nullptr);
            wants_ = o.wants_;
            broken_ = o.broken_;
        }
        return *this;
    }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    bool secure() const { return ssl_ != nullptr; }
    SSL* ssl() const { return ssl_; }
    // Ends the TLS session (the socket is being closed or handed on plain).
    void reset() {
        end();
        wants_ = 0;
        broken_ = false;
    }

    // One step of the handshake: 1 done, 0 waiting for the socket (wants()),
    // -1 failed (`why`).
    int handshake(Failure& why);
    bool resumed() const { return ssl_ && SSL_session_reused(ssl_); }

    // As recv(2) and send(2): bytes moved, 0 at the end of the stream (recv),
    // or -1 with errno: EAGAIN (wants() says for what), or the failure.
    ssize_t recv(int fd, char* buf, size_t n);
    ssize_t send(int fd, const char* buf, size_t n);
    // Half-close: a TLS close_notify, then FIN. Reading may go on.
    void shutdown_write(int fd);
    // Decrypted bytes wait inside the session: read them without an event.
    bool pending() const { return ssl_ && SSL_pending(ssl_) > 0; }
    // What the handshake waits for, or the other direction a blocked read
    // (kWantWrite) or write (kWantRead) needs first; 0 when nothing unusual.
    uint32_t wants() const { return wants_; }

private:
    // Maps an SSL_ERROR_* of a failed call in direction `own`: -1 with errno,
    // or 0 at the end.
    ssize_t failed(int ret, uint32_t own);
    // Frees the session. OpenSSL forbids resuming the TLS session of a
    // connection freed without a shutdown; one that ended without an error is
    // marked as shut down, so its session (kept by ClientSide) stays usable.
    void end() {
        if (!ssl_) return;
        if (!broken_ && SSL_is_init_finished(ssl_)) SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    SSL* ssl_ = nullptr;
    uint32_t wants_ = 0;
    bool broken_ = false;  // a TLS or socket error was seen
};

}  // namespace ep::tls
