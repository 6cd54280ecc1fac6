/* relay.bpf.c: the in-kernel relay of tcp services with relay = "sockmap".
 * A stream verdict program on a SOCKMAP: a segment arriving on a relayed
 * socket is redirected to the send path of its peer while the worker's credit
 * lasts; past it (or while bytes it passed wait for the worker) the segment
 * stays on its socket, where it counts against the receive window, so a slow
 * reader slows the sender as the user-space relay does. */
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
    /* One invocation at a time per socket (it runs under the socket's
     * lock), so the program is the only writer of redirected/passed. */
    if (f->passed != READ_ONCE_U64(f->consumed) || f->redirected + len > READ_ONCE_U64(f->limit)) {
        __sync_fetch_and_add(&f->passed, len);
        return SK_PASS;
    }
    __sync_fetch_and_add(&f->redirected, len);
    return bpf_sk_redirect_map(skb, &ep_socks, key, 0);
}

char LICENSE[] SEC("license") = "GPL";
