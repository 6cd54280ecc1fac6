// relay_object.cpp: the BPF object of relay.bpf.c, built by clang into the
// build tree (Makefile.am), embedded here so the daemon needs no file at run time.
asm(".section .rodata\n"
    ".balign 8\n"
    ".global ep_relay_bpf_start\n"
    "ep_relay_bpf_start:\n"
    ".incbin \"src/kernel/relay.bpf.o\"\n"
    ".global ep_relay_bpf_end\n"
    "ep_relay_bpf_end:\n"
    ".previous\n");
