// stream.cpp: plain or TLS reads and writes (see stream.hpp). OpenSSL's error
// queue is per thread and outlives a call: it is emptied after each failure,
// so one connection's error never shows up as another's.
#include "tls/stream.hpp"

#include <openssl/err.h>
#include <sys/socket.h>

#include <cerrno>

namespace ep::tls {

const char* failure_name(Failure f) {
    switch (f) {
        case Failure::NoSharedCipher: return "no_shared_cipher";
        case Failure::UnknownCa: return "unknown_ca";
        case Failure::Timeout: return "timeout";
        case Failure::Protocol: return "protocol";
        case Failure::Other: return "other";
    }
    return "other";
}

namespace {

Failure classify(int ssl_error) {
    if (ssl_error != SSL_ERROR_SSL) return Failure::Other;  // the peer left, or the socket failed
    switch (ERR_GET_REASON(ERR_peek_last_error())) {
        case SSL_R_NO_SHARED_CIPHER:
        case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        case SSL_R_NO_SHARED_GROUPS:
        case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
            return Failure::NoSharedCipher;
        case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
        case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
        case SSL_R_CERTIFICATE_VERIFY_FAILED:
            return Failure::UnknownCa;
        default:
            return Failure::Protocol;
    }
}

}  // namespace

int Stream::handshake(Failure& why) {
    wants_ = 0;
    const int ret = SSL_do_handshake(ssl_);
    if (ret == 1) return 1;
    const int err = SSL_get_error(ssl_, ret);
    if (err == SSL_ERROR_WANT_READ) {
        wants_ = kWantRead;
        return 0;
    }
    if (err == SSL_ERROR_WANT_WRITE) {
        wants_ = kWantWrite;
        return 0;
    }
    why = classify(err);
    ERR_clear_error();
    return -1;
}

// Only a wait the caller cannot guess is kept in wants_: a read that must
// write first, or a write that must read; the usual direction is the caller's.
ssize_t Stream::failed(int ret, uint32_t own) {
    const int err = SSL_get_error(ssl_, ret);
    switch (err) {
        case SSL_ERROR_WANT_READ:
            wants_ = own == kWantRead ? 0 : kWantRead;
            errno = EAGAIN;
            return -1;
        case SSL_ERROR_WANT_WRITE:
            wants_ = own == kWantWrite ? 0 : kWantWrite;
            errno = EAGAIN;
            return -1;
        case SSL_ERROR_ZERO_RETURN:
            return 0;
        case SSL_ERROR_SYSCALL:
            broken_ = true;
            ERR_clear_error();
            if (errno == 0 || errno == EAGAIN) errno = ECONNRESET;
            return -1;
        default:
            broken_ = true;
            ERR_clear_error();
            errno = EPROTO;
            return -1;
    }
}

ssize_t Stream::recv(int fd, char* buf, size_t n) {
    if (!ssl_) return ::recv(fd, buf, n, 0);
    wants_ = 0;
    size_t got = 0;
    errno = 0;
    const int ret = SSL_read_ex(ssl_, buf, n, &got);
    if (ret == 1) return ssize_t(got);
    return failed(ret, kWantRead);
}

ssize_t Stream::send(int fd, const char* buf, size_t n) {
    if (!ssl_) return ::send(fd, buf, n, MSG_NOSIGNAL);
    wants_ = 0;
    size_t sent = 0;
    errno = 0;
    const int ret = SSL_write_ex(ssl_, buf, n, &sent);
    if (ret == 1) return ssize_t(sent);
    const ssize_t r = failed(ret, kWantWrite);
    if (r == 0) errno = EPIPE;  // nothing is written after the peer's close_notify
    return -1;
}

void Stream::shutdown_write(int fd) {
    if (ssl_) {
        SSL_shutdown(ssl_);  // sends close_notify; the peer's is not awaited
        ERR_clear_error();
    }
    ::shutdown(fd, SHUT_WR);
}

}  // namespace ep::tls
