#!/bin/bash
# Guest script: records/s through one queue, mmap versus read().
#   tests/vm/run-lane --script tests/bench/run-queue-bench.sh 6.1
# Figures go to stdout and $WQ_OUT/queue-bench.txt. WQ_BENCH_ARGS adds
# wq_bench options (e.g. "--seconds 4").
set -euo pipefail
insmod "$WQ_MODDIR/watch_queue.ko"
insmod "$WQ_TESTMODDIR/wq_test.ko"
# shellcheck disable=SC2086 # word splitting of the options is wanted
"$WQ_BIN/tests/bench/wq_bench" ${WQ_BENCH_ARGS:-} | tee "$WQ_OUT/queue-bench.txt"
rmmod wq_test watch_queue
