#!/bin/sh
# The main job: a full rollout on the Kubernetes and Temporal simulators
# with real `twa agent` processes (t/e2e/demo prints the timeline). Run it
# with `make demo` after a build, or directly from the build directory.
# Every process it starts is stopped when it ends, fails or is
# interrupted.
set -u

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${TWA_SRCDIR:-$(cd "$here/../.." && pwd)}
builddir=${TWA_BUILDDIR:-$(pwd)}
NODE=${NODE:-node}

for f in "$builddir/twa" "$builddir/t/e2e/fakeworker" "$builddir/t/e2e/demo"; do
	if [ ! -x "$f" ]; then
		echo "demo: $f is missing: build first (make && make demo)" >&2
		exit 1
	fi
done
if ! command -v "$NODE" >/dev/null 2>&1; then
	echo "demo: Node.js ($NODE) is needed for the simulators: run" \
	    ".ci/install-deps first" >&2
	exit 1
fi
if [ -z "${NODE_PATH:-}" ]; then
	NODE_PATH="$srcdir/t/sim/node_modules:$builddir/t/sim-deps/node_modules"
fi
if [ ! -d "$srcdir/t/sim/node_modules/@grpc/grpc-js" ] &&
    [ ! -d "$builddir/t/sim-deps/node_modules/@grpc/grpc-js" ]; then
	echo "demo: the simulators' npm packages are missing: run make demo" \
	    "(it installs them) or npm ci in t/sim" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/twa-demo.XXXXXX") || exit 1
pid=
cleanup() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		# the demo, its simulators, agents and fake workers: one group
		kill -TERM -- "-$pid" 2>/dev/null
		n=0
		while kill -0 -- "-$pid" 2>/dev/null && [ $n -lt 50 ]; do
			sleep 0.1
			n=$((n + 1))
		done
		kill -KILL -- "-$pid" 2>/dev/null
	fi
	if [ "${status:-1}" -eq 0 ]; then
		rm -rf "$tmp"
	else
		echo "demo: logs kept in $tmp" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

export TWA_SRCDIR="$srcdir" TWA_BUILDDIR="$builddir" NODE NODE_PATH
export TMPDIR="$tmp"
status=1
setsid "$builddir/t/e2e/demo" &
pid=$!
wait "$pid"
status=$?
exit $status
