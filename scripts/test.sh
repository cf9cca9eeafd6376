#!/usr/bin/env bash
# make test's go test. The end-to-end tests of cmd/galsync spend most of
# their time waiting (the simulator's replication delay, Retry-After,
# scheduled retries: ~25% CPU), and they read their settings from the
# process environment as galsync does (envconfig), so they cannot use
# t.Parallel. They run instead as TEST_SHARDS test processes side by side,
# each with its own environment, beside every other package's tests.
#
#   scripts/test.sh                 all tests
#   TEST_SHARDS=1 scripts/test.sh   cmd/galsync in one process
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
shards=${TEST_SHARDS:-3}
timeout=${TEST_TIMEOUT:-40m}
case $shards in '' | *[!0-9]* | 0) echo "test.sh: TEST_SHARDS must be a positive number, got '$shards'" >&2; exit 2 ;; esac

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

start=$(date +%s)
mapfile -t others < <($GO list ./... | grep -v '/cmd/galsync$')
$GO test -c -o "$tmp/galsync.test" ./cmd/galsync
mapfile -t tests < <(cd cmd/galsync && "$tmp/galsync.test" -test.list '.*' | grep -E '^(Test|Fuzz|Example)')
if [ "${#tests[@]}" -eq 0 ]; then
	echo "test.sh: cmd/galsync lists no tests" >&2
	exit 1
fi

# Round robin over the tests in source order spreads the long scenarios,
# which sit apart in their files.
declare -a patterns
for i in "${!tests[@]}"; do
	s=$((i % shards))
	patterns[s]+="${patterns[s]:+|}${tests[i]}"
done

# timed log cmd...: runs cmd with its output in log, then notes its time.
timed() {
	local log=$1 t0 rc
	shift
	t0=$(date +%s)
	"$@" >"$log" 2>&1 && rc=0 || rc=$?
	echo "($(($(date +%s) - t0)) s)" >>"$log"
	return $rc
}
timed "$tmp/others.log" $GO test -count=1 -timeout "$timeout" "${others[@]}" &
pids+=($!)
for s in "${!patterns[@]}"; do
	(cd cmd/galsync && timed "$tmp/shard$s.log" "$tmp/galsync.test" -test.count=1 -test.timeout="$timeout" -test.run "^(${patterns[s]})\$") &
	pids+=($!)
done

status=0
names=(others)
for s in "${!patterns[@]}"; do names+=("cmd/galsync shard $((s + 1))/$shards"); done
logs=("$tmp/others.log")
for s in "${!patterns[@]}"; do logs+=("$tmp/shard$s.log"); done
for i in "${!pids[@]}"; do
	if wait "${pids[i]}"; then rc=0; else rc=$?; fi
	echo "=== ${names[i]} (exit $rc)"
	cat "${logs[i]}"
	[ "$rc" -eq 0 ] || status=1
done
pids=()
echo "test.sh: $(($(date +%s) - start)) s, ${#tests[@]} cmd/galsync tests in $shards shards: $([ $status -eq 0 ] && echo ok || echo FAILED)"
exit $status
