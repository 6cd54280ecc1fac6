/* relay_flow.h: the state of one direction of a connection relayed in the
 * kernel, shared by the BPF program (relay.bpf.c) and the worker through an
 * mmap()ed array. Each field has one writer. */
#ifndef EP_KERNEL_RELAY_FLOW_H
#define EP_KERNEL_RELAY_FLOW_H
#include <linux/types.h>

struct ep_flow {
    __u64 redirected; /* program: bytes handed to the destination socket */
    __u64 passed;     /* program: bytes left on the source socket for the worker */
    __u64 consumed;   /* worker: passed bytes it has read and sent on */
    __u64 written;    /* worker: bytes it sent to the destination since the hand-over */
    __u32 base;       /* program: the destination's write_seq at its first segment */
    __u32 started;    /* program: base is set */
    __u32 window;     /* worker: redirected bytes that may wait for the destination's send buffer */
    __u32 next_seq;   /* program: TCP sequence number of the next byte it expects on the source */
    __u32 seq_known;  /* program: next_seq is set */
    __u32 broken;     /* program: a segment could not be cut; the worker closes the connection */
    __u64 trimmed;    /* program: bytes of retransmitted segments it cut as already relayed */
};

#endif
