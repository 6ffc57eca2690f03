#!/bin/sh
# End-to-end scenarios with every `twa agent` under valgrind
# (--error-exitcode=1 --leak-check=full, definite leaks count): AllAtOnce
# v1 -> v2 (make check), and with "all" also drain -> scale down ->
# delete (leader actions of every kind, SIGTERM shutdowns). A scenario
# fails when any agent exits with a valgrind error. Skipped (77) without
# valgrind and in sanitizer builds.
# By hand: make e2e-valgrind (logs kept with TWA_E2E_KEEP=1).
builddir=${TWA_BUILDDIR:-.}
if [ -z "$VALGRIND" ] || ! command -v "$VALGRIND" >/dev/null 2>&1; then
	echo "valgrind not found: skipped"
	exit 77
fi
if grep -q '^#define TWA_SANITIZERS 1' "$builddir/config.h" 2>/dev/null; then
	echo "sanitizer build: skipped"
	exit 77
fi
export VALGRIND TWA_E2E_VALGRIND=1 CK_TIMEOUT_MULTIPLIER=4
CK_RUN_CASE=all_at_once "$builddir/t/e2e/test_rollout" || exit 1
if [ "$1" = all ]; then
	CK_RUN_CASE=drain_scaledown_delete "$builddir/t/e2e/test_sunset" ||
	    exit 1
fi
exit 0
