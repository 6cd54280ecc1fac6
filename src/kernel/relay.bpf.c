/* relay.bpf.c: the in-kernel relay of tcp services with relay = "sockmap".
 * A stream verdict program on a SOCKMAP: a segment arriving on a relayed
 * socket is redirected to the send path of its peer while the bytes already
 * redirected and not yet taken by the peer's send buffer stay within the
 * flow's window. Past it (and while bytes it passed wait for the worker) the
 * segment stays on its socket for the worker, which stops reading: the
 * receive window closes and a slow reader slows the sender, as with the
 * user-space relay. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "kernel/relay_flow.h"

/* max_entries are set by the loader (kernel/sockmap.cpp) before loading. */
struct {
    __uint(type, BPF_MAP_TYPE_SOCKMAP);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u64);
} ep_socks SEC(".maps");            /* flow index -> the socket it sends to */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, 1);
    __type(key, __u64);
    __type(value, __u32);
} ep_flow_of SEC(".maps");          /* socket cookie -> index of the flow it feeds */

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct ep_flow);
} ep_flows SEC(".maps");

#define READ_ONCE_U64(x) (*(volatile __u64 *)&(x))

/* The kernel's structures, for the fields read below (CO-RE: offsets come
 * from the running kernel's BTF at load time). */
struct tcp_sock {
    __u32 write_seq;  /* the destination's: bytes put in its send queue */
    __u32 copied_seq; /* the source's: bytes the worker read before the hand-over */
} __attribute__((preserve_access_index));
struct sk_buff {
    char cb[48]; /* TCP's control block: the segment's sequence number first */
} __attribute__((preserve_access_index));

extern void *bpf_cast_to_kern_ctx(void *obj) __ksym;

/* The kernel hands the program whole segments off the receive queue, and a
 * retransmitted segment may start before bytes it already handed over (it
 * overlaps the end of the one before): those bytes are cut. Returns 1 for a
 * segment with new bytes only (cut if needed), -1 for one relayed before as
 * a whole, 0 when it could not be cut. */
static __always_inline int cut_relayed(struct __sk_buff *skb, struct ep_flow *f, __u32 len)
{
    struct sk_buff *k = bpf_cast_to_kern_ctx(skb);
    __u32 seq = 0;
    bpf_probe_read_kernel(&seq, sizeof(seq), &k->cb[0]);
    if (!f->seq_known) {
        struct bpf_sock *source = skb->sk;
        struct tcp_sock *tp = source ? bpf_skc_to_tcp_sock(source) : 0;
        if (!tp) {
            f->broken = EP_BROKEN_NO_SEQ;
            return 0;
        }
        f->next_seq = tp->copied_seq;
        f->seq_known = 1;
    }
    __s32 seen = (__s32)(f->next_seq - seq);
    if (seen <= 0) {
        f->next_seq = seq + len;
        return 1;
    }
    if ((__u32)seen >= len)
        return -1; /* all of it was relayed before */
    f->next_seq = seq + len;
    for (int i = 0; i < EP_MAX_CUTS && seen > 0; i++) {
        int cut = seen > 4095 ? 4095 : seen; /* the helper's limit per call */
        long err = bpf_skb_adjust_room(skb, -cut, 0, 0);
        if (err) {
            f->broken = (__u32)-err;
            return 0;
        }
        seen -= cut;
    }
    if (seen > 0) {
        f->broken = EP_BROKEN_TOO_LONG;
        return 0;
    }
    return 1;
}

static __always_inline int pass(struct ep_flow *f, __u64 len)
{
    __sync_fetch_and_add(&f->passed, len);
    return SK_PASS;
}

SEC("sk_skb/stream_verdict")
int ep_relay(struct __sk_buff *skb)
{
    __u64 cookie = bpf_get_socket_cookie(skb);
    __u32 *index = bpf_map_lookup_elem(&ep_flow_of, &cookie);
    if (!index)
        return SK_PASS;
    __u32 key = *index;
    struct ep_flow *f = bpf_map_lookup_elem(&ep_flows, &key);
    if (!f)
        return SK_PASS;
    __u64 len = skb->len;
    /* A bare FIN (the only empty skb on a receive queue) is dropped: TCP
     * has recorded it already (recv() returns 0 once the passed bytes are
     * read), and an empty skb queued in a psock, redirected or passed behind
     * other bytes, makes the kernel fail that psock (EPIPE, sending stops). */
    if (len == 0)
        return SK_DROP;
    int fresh = cut_relayed(skb, f, len);
    if (fresh < 0)
        return SK_DROP;
    if (!fresh) /* never relay a byte twice: the worker closes the connection */
        return pass(f, len);
    len = skb->len;
    /* One invocation at a time per socket (it runs under the socket's
     * lock), so the program is the only writer of its fields. Bytes passed
     * and not yet sent on by the worker go first. */
    if (f->passed != READ_ONCE_U64(f->consumed))
        return pass(f, len);
    struct bpf_sock *peer = bpf_map_lookup_elem(&ep_socks, &key);
    if (!peer)
        return pass(f, len);
    struct tcp_sock *tp = bpf_skc_to_tcp_sock(peer);
    __u32 seq = tp ? tp->write_seq : 0;
    bpf_sk_release(peer);
    if (!tp)
        return pass(f, len);
    if (!f->started) {
        /* Nothing of this flow waits for the destination yet. */
        f->base = seq - (__u32)READ_ONCE_U64(f->written);
        f->started = 1;
    }
    /* Bytes of this flow not yet in the destination's send queue, modulo
     * 2^32 (they are far fewer). */
    __u32 backlog = f->base + (__u32)f->redirected + (__u32)READ_ONCE_U64(f->written) - seq;
    if ((__u64)backlog + len > f->window)
        return pass(f, len);
    __sync_fetch_and_add(&f->redirected, len);
    return bpf_sk_redirect_map(skb, &ep_socks, key, 0);
}

char LICENSE[] SEC("license") = "GPL";
