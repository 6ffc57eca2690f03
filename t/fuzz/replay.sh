#!/bin/sh
# Replays every committed fuzz corpus through its target (built without libFuzzer).
set -e
: "${TWA_SRCDIR:?}" "${TWA_BUILDDIR:?}"
total=0
for target in settings buildid admission; do
  "$TWA_BUILDDIR/t/fuzz/replay_$target" "$TWA_SRCDIR"/t/fuzz/corpus/$target/*
  total=$((total + $(ls "$TWA_SRCDIR"/t/fuzz/corpus/$target | wc -l)))
done
echo "$total passed, 0 failed"
