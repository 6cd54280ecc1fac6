#!/bin/sh
# tls.sh: TLS termination, easyproxy beside HAProxy on loopback (same
# certificate, ECDSA P-256 then RSA 2048, 2 workers each): full and resumed
# handshakes per CPU-second, CPU-seconds per GiB of bulk TLS, keep-alive
# HTTPS requests per CPU-second. Run from the build tree; see tls_bench.py.
exec python3 -u "$(dirname "$0")/tls_bench.py" --builddir "${top_builddir:-$PWD}" "$@"
