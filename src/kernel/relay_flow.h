/* relay_flow.h: the state of one direction of a connection relayed in the
 * kernel, shared by the BPF program (relay.bpf.c) and the worker through an
 * mmap()ed array. Each field has one writer. */
#ifndef EP_KERNEL_RELAY_FLOW_H
#define EP_KERNEL_RELAY_FLOW_H
#include <linux/types.h>

struct ep_flow {
    __u64 redirected; /* program: bytes handed to the peer socket */
    __u64 passed;     /* program: bytes left on the socket for the worker */
    __u64 consumed;   /* worker: passed bytes it has read and sent on */
    __u64 limit;      /* worker: `redirected` may grow up to this (credit) */
};

#endif
