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
    __u32 broken;     /* program: why a segment could not be cut (an errno or EP_BROKEN_*); the worker closes */
    __u32 pad[2];     /* to 64 bytes: a slot's flows fill whole pages */
};

/* A retransmitted segment is cut in steps of at most 4095 bytes (the helper's
 * limit), up to EP_MAX_CUTS of them. */
#define EP_MAX_CUTS 160
#define EP_BROKEN_NO_SEQ 10001   /* the source's sequence number was not readable */
#define EP_BROKEN_TOO_LONG 10002 /* the overlap was longer than EP_MAX_CUTS steps */

#endif
