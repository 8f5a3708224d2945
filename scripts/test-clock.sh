#!/usr/bin/env bash
# Runs pytest with the wall clock of every process it starts (PostgreSQL, Airflow, the simulator,
# Chromium) set to a chosen time of day, so that a test or a feature that silently assumes "midnight
# is far away" or "this is the same week" fails here instead of in CI at 00:32.
#
#   scripts/test-clock.sh [pytest arguments ...]
#   CLOCKS="00:05|23:55|monday 00:05" scripts/test-clock.sh -q tests/scraper_monitor/web/test_api.py
#
# CLOCKS is a '|'-separated list of GNU `date` times of day (UTC), each run in turn; the default is the
# three moments issue #13 names: just after midnight, just before it (a 10-minute suite crosses it),
# and the start of a week. Each is set to its most recent past occurrence, with libfaketime's relative
# offset: libfaketime's timers (PostgreSQL's statement_timeout, pytest-timeout's alarm) misbehave when
# the clock is set ahead, and FAKETIME_NO_CACHE keeps them right on long runs (with its 10 s offset
# cache, PostgreSQL's statement timeouts stop firing after the first refresh).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v faketime >/dev/null || { echo "test-clock: faketime is missing; run 'make debs'" >&2; exit 2; }

IFS='|' read -r -a clocks <<< "${CLOCKS:-00:05|23:55|monday 00:05}"

# One clock's run. With CLOCK_PARALLEL=1 the clocks run at once (`make test`: two runs on two cores
# take little more than one), each with its own pytest basetemp (two sessions sharing one delete each
# other's temporary folders) and its output printed whole when it ends.
run_clock() {
    local clock=$1 now target step offset
    now=$(date -u +%s)
    target=$(date -u -d "$clock" +%s)
    # `date -d "00:05"` is today's, `-d "monday 00:05"` this or next Monday's: step back into the past.
    step=$([[ "$clock" == *day* ]] && echo $((7 * 86400)) || echo 86400)
    while ((target > now)); do target=$((target - step)); done
    offset=$((target - now))
    echo "== test-clock: $(date -u -d "@$target" '+%A %Y-%m-%d %H:%M:%S UTC') (offset ${offset}s): pytest ${*:2}"
    if ! FAKETIME_NO_CACHE=1 faketime -f "$offset" .venv/bin/pytest "${@:2}"; then
        echo "== test-clock: FAILED with the clock at $clock UTC" >&2
        return 1
    fi
}

status=0
if [[ "${CLOCK_PARALLEL:-0}" == 1 ]]; then
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    pids=()
    for i in "${!clocks[@]}"; do
        run_clock "${clocks[$i]}" "$@" --basetemp="$work/basetemp-$i" >"$work/clock-$i.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!clocks[@]}"; do
        wait "${pids[$i]}" || status=1
        cat "$work/clock-$i.log"
    done
else
    for clock in "${clocks[@]}"; do
        run_clock "$clock" "$@" || status=1
    done
fi
exit $status
