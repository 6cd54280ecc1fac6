// context.cpp: building the SSL_CTXs of a configuration and choosing a
// certificate by SNI (see context.hpp). Every file is opened by hand first so
// that a missing or unreadable one is named with its errno text, before
// OpenSSL's less telling error queue is consulted.
#include "tls/context.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "net/address.hpp"
#include "tls/tickets.hpp"

namespace ep::tls {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
    return out;
}

// The last error OpenSSL queued, as text, and the queue emptied.
std::string openssl_error() {
    unsigned long code = 0, last = 0;
    while ((code = ERR_get_error()) != 0) last = code;
    if (last == 0) return "unknown OpenSSL error";
    char text[256];
    ERR_error_string_n(last, text, sizeof text);
    return text;
}

struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// The DNS names a certificate answers for: its subjectAltName DNS entries,
// or its subject CN when it has none (RFC 6125 §6.4.4).
std::vector<std::string> certificate_names(X509* x) {
    std::vector<std::string> names;
    auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr));
    if (sans) {
        for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
            const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
            if (g->type != GEN_DNS) continue;
            const ASN1_IA5STRING* s = g->d.dNSName;
            names.push_back(lower(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                   size_t(ASN1_STRING_length(s)))));
        }
        GENERAL_NAMES_free(sans);
    }
    if (names.empty()) {
        char cn[256];
        if (X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof cn) > 0)
            names.push_back(lower(cn));
    }
    return names;
}

int64_t not_after(X509* x) {
    struct tm tm {};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1) return 0;
    return int64_t(timegm(&tm));
}

std::string join(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
    return out;
}

std::string utc_date(int64_t unix_s) {
    const time_t t = time_t(unix_s);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char text[32];
    strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return text;
}

// Reads a byte of `path` to learn whether it can be read at all: "" or the
// reason (a directory opens, and fails only at the read).
std::string unreadable(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::string("cannot read ") + path + ": " + std::strerror(errno);
    char byte;
    const ssize_t n = ::read(fd, &byte, 1);
    const int err = errno;
    ::close(fd);
    if (n < 0) return std::string("cannot read ") + path + ": " + std::strerror(err);
    if (n == 0) return std::string("cannot use ") + path + ": the file is empty";
    return "";
}

bool holds_certificate(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (!f) return false;
    X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    ERR_clear_error();
    X509_free(x);
    return x != nullptr;
}

int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
    const auto* wire = static_cast<const std::string*>(arg);
    unsigned char* chosen = nullptr;
    unsigned char chosen_len = 0;
    if (SSL_select_next_proto(&chosen, &chosen_len, reinterpret_cast<const unsigned char*>(wire->data()),
                              unsigned(wire->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN, as most servers do
    *out = chosen;
    *outlen = chosen_len;
    return SSL_TLSEXT_ERR_OK;
}

}  // namespace

bool wildcard_matches(std::string_view pattern, std::string_view host) {
    if (pattern == host) return true;
    if (pattern.size() < 3 || pattern.substr(0, 2) != "*.") return false;
    const size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return false;
    return host.substr(dot) == pattern.substr(1);
}

size_t select_certificate(const std::vector<std::vector<std::string>>& names, std::string_view host) {
    if (host.empty()) return 0;
    for (size_t i = 0; i < names.size(); ++i)
        for (const auto& n : names[i])
            if (n == host) return i;
    for (size_t i = 0; i < names.size(); ++i)
        for (const auto& n : names[i])
            if (n.starts_with("*.") && wildcard_matches(n, host)) return i;
    return 0;
}

int ServerSide::on_servername(SSL* ssl, int*, void* arg) {
    const auto* side = static_cast<const ServerSide*>(arg);
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (!name || side->ctxs_.size() < 2) return SSL_TLSEXT_ERR_OK;
    char host[256];
    size_t n = 0;
    for (; name[n] && n + 1 < sizeof host; ++n) host[n] = (name[n] >= 'A' && name[n] <= 'Z') ? char(name[n] + 32) : name[n];
    host[n] = '\0';
    const size_t i = select_certificate(side->names_, std::string_view(host, n));
    if (i != 0) SSL_set_SSL_CTX(ssl, side->ctxs_[i].get());
    return SSL_TLSEXT_ERR_OK;
}

SSL* ServerSide::new_session(int fd) const {
    SSL* ssl = SSL_new(ctxs_.front().get());
    if (!ssl) return nullptr;
    SSL_set_fd(ssl, fd);
    SSL_set_accept_state(ssl);
    return ssl;
}

ClientSide::~ClientSide() {
    for (auto& [address, session] : sessions_)
        if (session) SSL_SESSION_free(session);
}

// A session (or a TLS 1.3 ticket, after the handshake) from a server: it
// replaces the one kept for that server. The SSL's app data points at the
// server's place in sessions_ (nodes of an unordered_map do not move).
int ClientSide::on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* kept = static_cast<SSL_SESSION**>(SSL_get_app_data(ssl));
    if (!kept) return 0;
    if (*kept) SSL_SESSION_free(*kept);
    *kept = session;
    return 1;  // the reference is ours now
}

SSL* ClientSide::new_session(int fd, const std::string& address_text) const {
    SSL* ssl = SSL_new(ctx_.get());
    if (!ssl) return nullptr;
    SSL_set_fd(ssl, fd);
    SSL_set_connect_state(ssl);
    SSL_SESSION*& kept = sessions_[address_text];
    if (kept && SSL_SESSION_is_resumable(kept)) SSL_set_session(ssl, kept);
    SSL_set_app_data(ssl, &kept);
    std::string name = sni_;
    if (name.empty()) {
        // The host part of "host:port" when it is a name (never an IP address).
        const size_t colon = address_text.rfind(':');
        std::string host = address_text.substr(0, colon == std::string::npos ? address_text.size() : colon);
        net::Address probe;
        std::string error;
        const bool is_ip = !host.empty() && (host.front() == '[' || net::parse_address(host + ":1", probe, error, false));
        if (!is_ip && !host.starts_with("unix")) name = host;
    }
    if (!name.empty()) {
        SSL_set_tlsext_host_name(ssl, name.c_str());
        if (verify_) SSL_set1_host(ssl, name.c_str());
    }
    return ssl;
}

// Builds everything, collecting every problem before throwing.
class Loader {
public:
    Loader(std::vector<std::string>& warnings, int64_t now) : warnings_(warnings), now_(now) {}

    std::shared_ptr<const Contexts> run(const config::Config& cfg) {
        auto out = std::make_shared<Contexts>();
        out->server_.resize(cfg.services.size());
        out->client_.resize(cfg.services.size());
        for (size_t i = 0; i < cfg.services.size(); ++i) {
            const config::Service& svc = cfg.services[i];
            if (svc.tls.enabled) out->server_[i] = server_side(uint32_t(i), svc.tls, out->certificates_);
            if (svc.server_tls.enabled) {
                out->client_[i] = client_side(svc.server_tls);
                out->any_client_ = true;
            }
        }
        if (!errors_.empty()) throw config::ConfigError(std::move(errors_));
        return out;
    }

private:
    void error(const config::Where& w, std::string message) {
        errors_.push_back(config::Diagnostic{w.file, w.line, w.path, std::move(message)});
    }

    // Settings both sides share: no renegotiation (a client could make us
    // pay for handshakes at will) and partial writes (our buffers drain like
    // a socket's). SSL_MODE_RELEASE_BUFFERS is not set: freeing and taking
    // back 2 x 17 KiB around every read cost 5-8 % of the CPU per GiB
    // (tests/bench/tls.sh), as HAProxy does not pay either.
    static void common(SSL_CTX* ctx) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
        SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    }

    // Loads a PEM chain and key into `ctx`, each problem at its setting.
    // Returns the leaf certificate, or null.
    X509* load_pair(SSL_CTX* ctx, const std::string& cert, const config::Where& cert_where, const std::string& key,
                    const config::Where& key_where) {
        bool ok = true;
        if (std::string why = unreadable(cert); !why.empty()) {
            error(cert_where, why);
            ok = false;
        }
        if (std::string why = unreadable(key); !why.empty()) {
            error(key_where, why);
            ok = false;
        }
        if (!ok) return nullptr;
        ERR_clear_error();
        if (!holds_certificate(cert)) {
            error(cert_where, cert + " holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\")");
            return nullptr;
        }
        if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) {
            error(cert_where, cert + " is not a valid certificate chain (" + openssl_error() + ")");
            return nullptr;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
            const unsigned long code = ERR_peek_last_error();
            if (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH || ERR_GET_REASON(code) == X509_R_KEY_TYPE_MISMATCH) {
                ERR_clear_error();
                error(key_where, key + " does not match the certificate " + cert);
            } else {
                error(key_where, key + " is not a PEM private key (" + openssl_error() + ")");
            }
            return nullptr;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            ERR_clear_error();
            error(key_where, key + " does not match the certificate " + cert);
            return nullptr;
        }
        return SSL_CTX_get0_certificate(ctx);
    }

    void check_expiry(const config::Where& w, const std::string& file, const std::vector<std::string>& names,
                      int64_t expiry) {
        const int64_t left = expiry - now_;
        if (left >= kExpiryWarningDays * 86400) return;
        const std::string shown = names.empty() ? file : file + " (" + join(names) + ")";
        std::string text = w.file + ":" + std::to_string(w.line) + ": " + w.path + ": warning: certificate " + shown;
        if (left < 0) text += " expired on " + utc_date(expiry);
        else text += " expires in " + std::to_string(left / 86400) + " days (" + utc_date(expiry) + ")";
        warnings_.push_back(std::move(text));
    }

    std::unique_ptr<ServerSide> server_side(uint32_t service, const config::Tls& t,
                                            std::vector<CertificateInfo>& infos) {
        auto side = std::make_unique<ServerSide>();
        side->handshake_timeout_ms = t.handshake_timeout_ms;
        // ALPN in wire format: length-prefixed protocol names.
        for (const auto& p : t.alpn) {
            side->alpn_ += char(p.size());
            side->alpn_ += p;
        }
        for (const config::Certificate& c : t.certificates) {
            CtxPtr ctx(SSL_CTX_new(TLS_server_method()));
            if (!ctx) {
                error(c.cert_where, "cannot create a TLS context: " + openssl_error());
                return nullptr;
            }
            common(ctx.get());
            SSL_CTX_set_options(ctx.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
            SSL_CTX_set_min_proto_version(ctx.get(), t.min_version);
            if (!t.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), t.ciphers.c_str()) != 1) {
                ERR_clear_error();
                error(t.where, "ciphers: no cipher in \"" + t.ciphers + "\" is known to OpenSSL");
            }
            if (!t.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx.get(), t.ciphersuites.c_str()) != 1) {
                ERR_clear_error();
                error(t.where, "ciphersuites: \"" + t.ciphersuites + "\" is not a list of TLS 1.3 suites");
            }
            // Resumption is by tickets only, with keys every worker shares: a
            // per-process session cache would miss whenever the client's next
            // connection lands on another worker.
            SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
            SSL_CTX_set_num_tickets(ctx.get(), 1);
            SSL_CTX_set_timeout(ctx.get(), long(kTicketLifetimeS));
            use_shared_ticket_keys(ctx.get());
            X509* leaf = load_pair(ctx.get(), c.cert, c.cert_where, c.key, c.key_where);
            if (!leaf) continue;
            CertificateInfo info;
            info.service = service;
            info.file = c.cert;
            info.names = certificate_names(leaf);
            info.not_after_unix = not_after(leaf);
            check_expiry(c.cert_where, c.cert, info.names, info.not_after_unix);
            SSL_CTX_set_tlsext_servername_callback(ctx.get(), &ServerSide::on_servername);
            SSL_CTX_set_tlsext_servername_arg(ctx.get(), side.get());
            side->names_.push_back(info.names);
            side->ctxs_.push_back(std::move(ctx));
            infos.push_back(std::move(info));
        }
        if (side->ctxs_.empty()) return nullptr;
        if (!side->alpn_.empty())
            for (auto& ctx : side->ctxs_) SSL_CTX_set_alpn_select_cb(ctx.get(), alpn_select, &side->alpn_);
        return side;
    }

    std::unique_ptr<ClientSide> client_side(const config::ServerTls& t) {
        auto side = std::make_unique<ClientSide>();
        side->ctx_.reset(SSL_CTX_new(TLS_client_method()));
        if (!side->ctx_) {
            error(t.where, "cannot create a TLS context: " + openssl_error());
            return nullptr;
        }
        SSL_CTX* ctx = side->ctx_.get();
        common(ctx);
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
        // Sessions are kept by ClientSide, per server, not in OpenSSL's cache.
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, &ClientSide::on_new_session);
        side->sni_ = t.sni;
        side->verify_ = t.verify;
        if (t.verify) {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
            if (!t.ca_file.empty()) {
                if (std::string why = unreadable(t.ca_file); !why.empty()) {
                    error(t.ca_where, why);
                } else if (SSL_CTX_load_verify_locations(ctx, t.ca_file.c_str(), nullptr) != 1) {
                    error(t.ca_where, t.ca_file + " holds no PEM certificate (" + openssl_error() + ")");
                }
            } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
                error(t.where, "cannot load the system's trusted CAs: " + openssl_error());
            }
        }
        if (!t.cert.empty()) {
            if (X509* leaf = load_pair(ctx, t.cert, t.cert_where, t.key, t.key_where)) {
                const std::vector<std::string> names = certificate_names(leaf);
                check_expiry(t.cert_where, t.cert, names, not_after(leaf));
            }
        }
        return side;
    }

    std::vector<config::Diagnostic> errors_;
    std::vector<std::string>& warnings_;
    int64_t now_;
};

std::shared_ptr<const Contexts> load(const config::Config& cfg, std::vector<std::string>& warnings, int64_t now_unix) {
    return Loader(warnings, now_unix).run(cfg);
}

}  // namespace ep::tls
