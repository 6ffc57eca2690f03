#!/bin/sh
# The Temporal client stress test (1000 calls, 30 % UNAVAILABLE) under
# valgrind: no invalid access and no definite leak. Skipped (77) without
# valgrind and in sanitizer builds, where valgrind cannot run.
builddir=${TWA_BUILDDIR:-.}
srcdir=${TWA_SRCDIR:-.}
if [ -z "$VALGRIND" ] || ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "valgrind not found: skipped"
	exit 77
fi
if grep -q '^#define TWA_SANITIZERS 1' "$builddir/config.h" 2>/dev/null; then
	echo "sanitizer build: skipped"
	exit 77
fi
supp=
if [ -f "$srcdir/t/valgrind.supp" ]; then
	supp="--suppressions=$srcdir/t/valgrind.supp"
fi
CK_FORK=no CK_DEFAULT_TIMEOUT=600 exec "$VALGRIND" --quiet --leak-check=full \
	--errors-for-leak-kinds=definite --error-exitcode=1 --num-callers=30 \
	$supp "$builddir/t/unit/test_temporal_stress"
