#!/bin/sh
# Wire conformance of proto/ against the official Temporal descriptors,
# under the automake test harness (make check sets TWA_SRCDIR, NODE, NODE_PATH).
srcdir=${TWA_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
exec "${NODE:-node}" --test "$srcdir/t/conformance/proto.test.js"
