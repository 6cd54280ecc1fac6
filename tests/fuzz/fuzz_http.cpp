// fuzz_http.cpp: libFuzzer target for the HTTP message layer (src/http/). The
// input is parsed as a request head and as a response head, fed in pieces into
// exact-size copies (so ASan sees any read past what was received); on Done
// the head is rewritten and the rest of the input decoded as a chunked body.
// It traps when cutting changes an answer or when what we write does not parse.
// Run alone: make fuzz FUZZ_TARGETS=http (seeds: tests/fuzz/corpus/http, the
// golden cases of research/http.md §12, each behind its control byte).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "http/message.hpp"

using namespace ep::http;

namespace {

constexpr size_t kMaxHead = 16384;

void check(bool ok) {
    if (!ok) __builtin_trap();
}

struct Outcome {
    Parse result = Parse::NeedMore;
    int status = 0;
    uint32_t length = 0;
    Body body = Body::None;
    uint64_t content_length = 0;
    bool operator==(const Outcome& o) const {
        return result == o.result && status == o.status && length == o.length && body == o.body &&
               content_length == o.content_length;
    }
};

Outcome outcome(Parse r, const HeadParser& p, const Head& h) {
    Outcome o;
    o.result = r;
    if (r == Parse::Error) o.status = p.error_status();
    if (r == Parse::Done) {
        o.length = h.length;
        o.body = h.body;
        o.content_length = h.content_length;
    }
    return o;
}

// Feeds the first `piece`, 2*`piece`... bytes, each time from a fresh buffer of
// exactly that size holding the same bytes.
Parse parse_in_pieces(HeadParser& p, const uint8_t* data, size_t size, size_t piece, Head& h) {
    Parse r = Parse::NeedMore;
    for (size_t len = piece < size ? piece : size;; len = len + piece < size ? len + piece : size) {
        std::vector<char> copy(data, data + len);
        r = p.parse(copy.data(), copy.size(), h);
        if (r != Parse::NeedMore || len == size) return r;
    }
}

// The chunked body after a head: once whole with room to spare, once in
// pieces into 32-byte outputs; both must agree, and our own output must
// decode to itself.
void body(const uint8_t* data, size_t size, size_t piece) {
    std::vector<char> whole(size * 4 + 64);
    ChunkedTranscoder t;
    t.reset(ChunkedTranscoder::Output::Chunked);
    std::vector<char> in(data, data + size);
    size_t pos = 0, produced = 0;
    ChunkedTranscoder::Result r;
    do {
        r = t.feed(in.data() + pos, size - pos, whole.data() + produced, whole.size() - produced);
        pos += r.consumed;
        produced += r.produced;
    } while (!r.done && !r.error && (r.consumed || r.produced));

    ChunkedTranscoder u;
    u.reset(ChunkedTranscoder::Output::Chunked);
    std::vector<char> cut;
    size_t upos = 0, avail = 0;
    ChunkedTranscoder::Result s;
    char out[32];
    while (true) {
        avail = avail + piece < size ? avail + piece : size;
        do {
            s = u.feed(in.data() + upos, avail - upos, out, sizeof out);
            check(s.produced <= sizeof out && s.consumed <= avail - upos);
            upos += s.consumed;
            cut.insert(cut.end(), out, out + s.produced);
        } while (!s.done && !s.error && (s.consumed || s.produced));
        if (s.done || s.error || avail == size) break;
    }
    check(s.error == r.error && s.done == r.done);
    if (!r.error) check(cut.size() == produced && (produced == 0 || std::memcmp(cut.data(), whole.data(), produced) == 0));
    if (r.done) {
        check(upos == pos);
        // canonical chunks read back unchanged
        ChunkedTranscoder v;
        v.reset(ChunkedTranscoder::Output::Chunked);
        std::vector<char> again(produced + 64);
        const auto a = v.feed(whole.data(), produced, again.data(), again.size());
        check(a.done && a.consumed == produced && a.produced == produced &&
              (produced == 0 || std::memcmp(again.data(), whole.data(), produced) == 0));
    }
}

void request(const uint8_t* data, size_t size, size_t piece) {
    static Head h, whole_head, again;
    HeadParser p;
    p.reset(HeadParser::Kind::Request, kMaxHead);
    const Parse r = parse_in_pieces(p, data, size, piece, h);
    HeadParser q;
    q.reset(HeadParser::Kind::Request, kMaxHead);
    const Parse rw = q.parse(reinterpret_cast<const char*>(data), size, whole_head);
    check(outcome(r, p, h) == outcome(rw, q, whole_head));
    if (r != Parse::Done) return;

    const char* buf = reinterpret_cast<const char*>(data);
    static char out[kMaxHead * 2];
    ClientInfo client;
    const size_t n = write_request_head(buf, h, client, out, sizeof out);
    check(n > 0);
    // What we send is a valid request with the same framing (the added
    // forwarding fields can overflow the field limit: only below it).
    if (h.field_count <= kMaxFields - 8) {
        HeadParser re;
        re.reset(HeadParser::Kind::Request, sizeof out);
        check(re.parse(out, n, again) == Parse::Done && again.length == n && again.body == h.body &&
              again.content_length == h.content_length);
    }
    if (h.body == Body::Chunked) body(data + h.length, size - h.length, piece);
}

void response(const uint8_t* data, size_t size, size_t piece, Method method) {
    static Head h, whole_head, again;
    HeadParser p;
    p.reset(HeadParser::Kind::Response, kMaxHead, method);
    const Parse r = parse_in_pieces(p, data, size, piece, h);
    HeadParser q;
    q.reset(HeadParser::Kind::Response, kMaxHead, method);
    const Parse rw = q.parse(reinterpret_cast<const char*>(data), size, whole_head);
    check(outcome(r, p, h) == outcome(rw, q, whole_head));
    check(r != Parse::Error || p.error_status() == 502);
    if (r != Parse::Done) return;

    static char out[kMaxHead * 2];
    const size_t n = write_response_head(reinterpret_cast<const char*>(data), h, ResponseInfo{}, out, sizeof out);
    check(n > 0);
    HeadParser re;
    re.reset(HeadParser::Kind::Response, sizeof out, method);
    check(re.parse(out, n, again) == Parse::Done && again.length == n && again.body == h.body);
    if (h.body == Body::Chunked) body(data + h.length, size - h.length, piece);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    // The first byte picks the piece size and the method a response answers.
    const size_t piece = size_t(data[0] & 15) + 1;
    const Method method = data[0] & 16 ? Method::Head : Method::Get;
    ++data;
    --size;
    request(data, size, piece);
    response(data, size, piece, method);
    return 0;
}
