// tickets.cpp: the shared ticket-key store (see tickets.hpp). RFC 5077 §4's
// recommended construction: a 16-byte key name, AES-256-CBC and HMAC-SHA256,
// which is what OpenSSL's own ticket code does with its private keys.
#include "tls/tickets.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/mman.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace ep::tls {

namespace {

struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
};

struct Store {
    std::atomic<uint32_t> seq;   // odd while the master writes
    uint32_t current;            // index in keys of the encrypting key
    uint64_t next_rotation_ms;   // monotonic, read by the master only
    Key keys[2];                 // current and previous
};

Store* g_store = nullptr;  // inherited by every worker at fork

bool fresh_key(Key& k) { return RAND_bytes(reinterpret_cast<unsigned char*>(&k), sizeof k) == 1; }

// A consistent copy of both keys and which one is current.
void snapshot(Key (&keys)[2], uint32_t& current) {
    for (;;) {
        const uint32_t s1 = g_store->seq.load(std::memory_order_acquire);
        if (s1 & 1) continue;
        std::memcpy(keys, g_store->keys, sizeof keys);
        current = g_store->current;
        std::atomic_thread_fence(std::memory_order_acquire);
        if (g_store->seq.load(std::memory_order_relaxed) == s1) return;
    }
}

int set_hmac(EVP_MAC_CTX* hctx, unsigned char* key) {
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
                           OSSL_PARAM_construct_end()};
    return EVP_MAC_init(hctx, key, 32, params);
}

// OpenSSL's ticket callback: 1 done, 2 decrypted with an old key (issue a
// new ticket), 0 unknown key (full handshake), -1 failure.
int ticket_key_cb(SSL*, unsigned char key_name[16], unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX* cctx,
                  EVP_MAC_CTX* hctx, int enc) {
    if (!g_store) return enc ? -1 : 0;
    Key keys[2];
    uint32_t current = 0;
    snapshot(keys, current);
    if (enc) {
        Key& k = keys[current];
        if (RAND_bytes(iv, 16) != 1) return -1;
        std::memcpy(key_name, k.name, 16);
        if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1) return -1;
        return set_hmac(hctx, k.hmac) == 1 ? 1 : -1;
    }
    for (uint32_t i = 0; i < 2; ++i) {
        Key& k = keys[i];
        if (std::memcmp(key_name, k.name, 16) != 0) continue;
        if (set_hmac(hctx, k.hmac) != 1) return -1;
        if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), nullptr, k.aes, iv) != 1) return -1;
        return i == current ? 1 : 2;
    }
    return 0;
}

}  // namespace

bool init_ticket_keys(std::string& error) {
    if (g_store) return true;
    void* p = mmap(nullptr, sizeof(Store), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        error = std::string("ticket keys: mmap: ") + std::strerror(errno);
        return false;
    }
    auto* store = new (p) Store{};
    if (!fresh_key(store->keys[0]) || !fresh_key(store->keys[1])) {
        error = "ticket keys: the random source failed";
        munmap(p, sizeof(Store));
        return false;
    }
    g_store = store;
    return true;
}

bool rotation_due(uint64_t now_ms) {
    if (!g_store) return false;
    if (g_store->next_rotation_ms == 0) g_store->next_rotation_ms = now_ms + kTicketRotationMs;
    return now_ms >= g_store->next_rotation_ms;
}

bool rotate_ticket_keys(uint64_t now_ms) {
    if (!g_store) return false;
    g_store->next_rotation_ms = now_ms + kTicketRotationMs;
    Key fresh;
    if (!fresh_key(fresh)) return false;
    const uint32_t next = g_store->current ^ 1u;  // the previous key's place
    g_store->seq.fetch_add(1, std::memory_order_acq_rel);
    std::atomic_thread_fence(std::memory_order_release);
    g_store->keys[next] = fresh;
    g_store->current = next;
    g_store->seq.fetch_add(1, std::memory_order_release);
    return true;
}

void use_shared_ticket_keys(SSL_CTX* ctx) { SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key_cb); }

}  // namespace ep::tls
