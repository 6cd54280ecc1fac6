// tickets.hpp: the session-ticket keys every worker shares, so a client that
// resumes lands on any worker and still skips the full handshake. The master
// makes them (random, never written to disk) in an anonymous shared mapping
// created before the first fork, and rotates them on a schedule; workers read
// them in OpenSSL's ticket callback under a seqlock.
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <string>

namespace ep::tls {

// A new key every 12 hours; the one before still decrypts (its tickets are
// renewed), so a ticket lives at most one rotation past its issue.
inline constexpr uint64_t kTicketRotationMs = 12ull * 3600 * 1000;
inline constexpr uint64_t kTicketLifetimeS = kTicketRotationMs / 1000;

// Master, before forking: creates the shared store with a fresh key.
// False (and `error`) when the mapping or the random source fails.
bool init_ticket_keys(std::string& error);
// Master: a new current key, the current one kept for decryption. Called
// when rotation_due(); returns false when the random source failed.
bool rotate_ticket_keys(uint64_t now_ms);
bool rotation_due(uint64_t now_ms);
// Every server-side SSL_CTX: tickets are made and opened with the shared keys.
void use_shared_ticket_keys(SSL_CTX* ctx);

}  // namespace ep::tls
