// chunked.cpp: the chunked-body state machine (RFC 9112 §7.1) used in both
// directions: it validates every framing byte and writes the body out again as
// canonical chunks or as plain data, whatever the cuts of input and output.
#include <algorithm>
#include <cstring>

#include "http/lex.hpp"
#include "http/message.hpp"

namespace ep::http {

using namespace lex;

namespace {

enum State : uint8_t {
    cSize,       // hex digits
    cSizeWs,     // BWS after the size ("5 \r\n" is common)
    cExt,        // ";name=value..." up to CR, dropped
    cSizeLf,
    cData,
    cDataCr,
    cDataLf,
    cTrailerStart,  // a trailer field, or the final CRLF
    cTrailerName,
    cTrailerValue,
    cTrailerLf,
    cEndLf,
    cDone,
    cError,
};

constexpr uint32_t kMaxSizeDigits = 13;     // 16^13 - 1 == kMaxChunkSize
constexpr uint32_t kMaxTrailers = 16384;    // whole trailer section, like a head

int hex_value(uint8_t c) {
    if (c <= '9') return c - '0';
    return lower(c) - 'a' + 10;
}

}  // namespace

void ChunkedTranscoder::reset(Output out) {
    output_ = out;
    state_ = cSize;
    remaining_ = size_ = announced_ = 0;
    count_ = 0;
    pending_len_ = pending_off_ = 0;
}

bool ChunkedTranscoder::done() const { return state_ == cDone && pending_off_ == pending_len_; }

void ChunkedTranscoder::emit(const char* s, size_t n) {
    std::memcpy(pending_ + pending_len_, s, n);
    pending_len_ = uint8_t(pending_len_ + n);
}

ChunkedTranscoder::Result ChunkedTranscoder::feed(const char* in, size_t in_len, char* out, size_t out_cap) {
    Result r;
    const auto* b = reinterpret_cast<const uint8_t*>(in);
    const bool chunked = output_ == Output::Chunked;
    size_t i = 0, o = 0;
    bool out_full = false;

    for (;;) {
        if (pending_off_ < pending_len_) {
            const size_t n = std::min<size_t>(pending_len_ - pending_off_, out_cap - o);
            if (n > 0) std::memcpy(out + o, pending_ + pending_off_, n);
            o += n;
            pending_off_ = uint8_t(pending_off_ + n);
            if (pending_off_ < pending_len_) break;
            pending_off_ = pending_len_ = 0;
        }
        if (state_ == cDone || state_ == cError || i == in_len || out_full) break;

        const uint8_t c = b[i];
        switch (state_) {
        case cSize:
            if (is(c, kHex)) {
                if (count_ == kMaxSizeDigits) { state_ = cError; break; }
                size_ = size_ * 16 + uint64_t(hex_value(c));
                ++count_;
                ++i;
                break;
            }
            if (count_ == 0) { state_ = cError; break; }
            if (c == ' ' || c == '\t') {
                state_ = cSizeWs;
            } else if (c == ';') {
                state_ = cExt;
                count_ = 0;
            } else if (c == '\r') {
                state_ = cSizeLf;
            } else {
                { state_ = cError; break; }
            }
            ++i;
            break;
        case cSizeWs:
            if (c == ';') {
                state_ = cExt;
                count_ = 0;
            } else if (c == '\r') {
                state_ = cSizeLf;
            } else if (c != ' ' && c != '\t') {
                { state_ = cError; break; }
            }
            ++i;
            break;
        case cExt:
            // Extensions mean nothing to us; only their bytes are checked.
            while (i < in_len && is(b[i], kValue) && count_ <= kMaxChunkExt) ++i, ++count_;
            if (count_ > kMaxChunkExt) { state_ = cError; break; }
            if (i == in_len) break;
            if (b[i] != '\r') { state_ = cError; break; }
            state_ = cSizeLf;
            ++i;
            break;
        case cSizeLf: {
            if (c != '\n') { state_ = cError; break; }
            ++i;
            count_ = 0;
            if (size_ == 0) {
                if (chunked) emit("0\r\n", 3);
                state_ = cTrailerStart;
                break;
            }
            if (chunked) {
                char hex[kMaxSizeDigits + 2];
                size_t n = 0;
                for (uint64_t v = size_; v; v >>= 4) hex[n++] = "0123456789abcdef"[v & 15];
                char line[kMaxSizeDigits + 2];
                for (size_t k = 0; k < n; ++k) line[k] = hex[n - 1 - k];
                line[n] = '\r';
                line[n + 1] = '\n';
                emit(line, n + 2);
            }
            remaining_ = size_;
            announced_ += size_;  // each chunk's data is read before the next size: far from overflowing
            size_ = 0;
            state_ = cData;
            break;
        }
        case cData: {
            size_t n = std::min<uint64_t>(remaining_, in_len - i);
            n = std::min(n, out_cap - o);
            if (n == 0) {  // out is full
                out_full = true;
                break;
            }
            std::memcpy(out + o, in + i, n);
            i += n;
            o += n;
            remaining_ -= n;
            if (remaining_ == 0) state_ = cDataCr;
            break;
        }
        case cDataCr:
            if (c != '\r') { state_ = cError; break; }
            state_ = cDataLf;
            ++i;
            break;
        case cDataLf:
            if (c != '\n') { state_ = cError; break; }
            if (chunked) emit("\r\n", 2);
            state_ = cSize;
            count_ = 0;
            ++i;
            break;
        case cTrailerStart:
            if (c == '\r') {
                state_ = cEndLf;
                ++i;
                break;
            }
            if (!is(c, kTchar)) { state_ = cError; break; }
            state_ = cTrailerName;
            [[fallthrough]];
        case cTrailerName:
        case cTrailerValue:
        case cTrailerLf: {
            // Trailers pass byte by byte once checked as header fields.
            if (++count_ > kMaxTrailers) { state_ = cError; break; }
            if (state_ == cTrailerName) {
                if (c == ':') state_ = cTrailerValue;
                else if (!is(c, kTchar)) { state_ = cError; break; }
            } else if (state_ == cTrailerValue) {
                if (c == '\r') state_ = cTrailerLf;
                else if (!is(c, kValue)) { state_ = cError; break; }
            } else {
                if (c != '\n') { state_ = cError; break; }
                state_ = cTrailerStart;
            }
            if (chunked) emit(reinterpret_cast<const char*>(&c), 1);
            ++i;
            break;
        }
        case cEndLf:
            if (c != '\n') { state_ = cError; break; }
            if (chunked) emit("\r\n", 2);
            state_ = cDone;
            ++i;
            break;
        default:
            { state_ = cError; break; }
        }
    }
    r.consumed = i;
    r.produced = o;
    r.done = done();
    r.error = state_ == cError;
    return r;
}

}  // namespace ep::http
