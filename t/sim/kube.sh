#!/bin/sh
# Runs the kube simulator's own tests with node's built-in test runner.
set -e
: "${TWA_SRCDIR:?}" "${NODE:?}"
cd "$TWA_SRCDIR/t/sim"
exec "$NODE" --test --test-reporter=tap kube/test/
