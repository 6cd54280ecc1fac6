// context.hpp: the OpenSSL contexts of a configuration (DESIGN.md §9), built by
// the master before it drops privileges and inherited by the workers at fork:
// per listening service one SSL_CTX per certificate (SNI picks among them),
// per service with server_tls one client SSL_CTX. Loading checks every file
// and says FILE:LINE of the setting that names a bad one.
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "config/loader.hpp"

namespace ep::tls {

// The certificate for `host` among certificates that hold `names` each (DNS
// names, lower case): an exact name first, then a wildcard ("*.example.com"
// stands for exactly one label), in certificate order; 0 (the default) when
// none matches or there is no host. Pure, for the unit tests.
size_t select_certificate(const std::vector<std::vector<std::string>>& names, std::string_view host);
// Whether `pattern` (an exact name or "*.rest") covers `host`; both lower case.
bool wildcard_matches(std::string_view pattern, std::string_view host);

struct SslCtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;

// What stats show of a certificate: its service, file, names and expiry.
struct CertificateInfo {
    uint32_t service = 0;     // index in config.services
    std::string file;
    std::vector<std::string> names;
    int64_t not_after_unix = 0;
};

// The listeners' side of one service.
class ServerSide {
public:
    // A new server-side session for an accepted socket (default certificate
    // until the client's SNI picks another), or null when OpenSSL is out of memory.
    SSL* new_session(int fd) const;
    uint64_t handshake_timeout_ms = 10000;

private:
    friend class Loader;
    static int on_servername(SSL* ssl, int* alert, void* arg);
    std::vector<CtxPtr> ctxs_;                      // by certificate
    std::vector<std::vector<std::string>> names_;   // by certificate
    std::string alpn_;                              // offered protocols, wire format
};

// The servers' side (server_tls) of one service. Each process keeps the
// last TLS session of each server and offers it on the next connection, so
// connections to a server resume instead of paying a full handshake (as
// HAProxy does); a server that refuses it gets a full handshake.
class ClientSide {
public:
    ClientSide() = default;
    ClientSide(const ClientSide&) = delete;
    ClientSide& operator=(const ClientSide&) = delete;
    ~ClientSide();
    // A client session for a connected socket to a server whose address was
    // written `address_text`; null when OpenSSL is out of memory.
    SSL* new_session(int fd, const std::string& address_text) const;

private:
    friend class Loader;
    static int on_new_session(SSL* ssl, SSL_SESSION* session);
    CtxPtr ctx_;
    std::string sni_;
    bool verify_ = true;
    // by server address: the session to offer next (this process's own copy)
    mutable std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

class Contexts {
public:
    const ServerSide* server_side(uint32_t service) const {
        return service < server_.size() ? server_[service].get() : nullptr;
    }
    const ClientSide* client_side(uint32_t service) const {
        return service < client_.size() ? client_[service].get() : nullptr;
    }
    const std::vector<CertificateInfo>& certificates() const { return certificates_; }
    bool empty() const { return certificates_.empty() && !any_client_; }

private:
    friend class Loader;
    std::vector<std::unique_ptr<ServerSide>> server_;  // by service; null without tls
    std::vector<std::unique_ptr<ClientSide>> client_;  // by service; null without server_tls
    std::vector<CertificateInfo> certificates_;
    bool any_client_ = false;
};

// Days before expiry from which a certificate is warned about.
inline constexpr int64_t kExpiryWarningDays = 14;

// Reads every certificate and key of `cfg`. Throws config::ConfigError
// listing every bad file at the FILE:LINE that names it; `warnings` gets
// "FILE:LINE: path: certificate ... expires in N days" lines. `now_unix` is
// the clock the expiry is judged by.
std::shared_ptr<const Contexts> load(const config::Config& cfg, std::vector<std::string>& warnings,
                                     int64_t now_unix);

}  // namespace ep::tls
