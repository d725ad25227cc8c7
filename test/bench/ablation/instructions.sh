#!/usr/bin/env bash
# Instructions per request of an in-process benchmark, counted by valgrind's
# callgrind: unlike time, the count does not change when other processes
# share the CPU, so variants can be compared on a busy machine.
#
#   test/bench/ablation/instructions.sh BENCH_BINARY 'PeerBodies/tollgate/1-nginx$' [N1 N2]
#
# BENCH_BINARY is `go test -c` of test/bench (of any checkout). The count is
# (I(N2 iterations) - I(N1 iterations)) / (N2 - N1): setup (compiling
# policies, building caches) cancels out; garbage collection is included.
# GOMAXPROCS=1 and no async preemption or RDTSCP, which valgrind cannot run.
set -euo pipefail
bin=$1 re=$2 n1=${3:-30} n2=${4:-230}
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd) # test/bench: testdata lives there
count() {
	(cd "$here" && GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOMAXPROCS=1 \
		valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" \
		-test.run '^$' -test.bench "$re" -test.benchtime "${1}x" 2>&1) |
		awk '/Collected/ {gsub(",", "", $NF); print $NF}'
}
a=$(count "$n1") b=$(count "$n2")
[[ -n $a && -n $b ]] || { echo "callgrind gave no count for $re" >&2; exit 1; }
echo "$re $(((b - a) / (n2 - n1)))"
