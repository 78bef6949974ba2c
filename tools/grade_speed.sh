#!/usr/bin/env bash
# How fast `grader grade` is with dependencies compiled: one submission, then a batch of N
# copies of the solved notebook with --jobs J. Prints wall time, throughput and peak memory.
# Usage: tools/grade_speed.sh [N] [J]   (run on a quiet machine, after `make build`)
set -euo pipefail
n=${1:-20}
jobs=${2:-2}
grader=target/debug/grader
dir=$(mktemp -d)
"$grader" notebook --version solved -o "$dir/solved.ipynb" >/dev/null
"$grader" grade "$dir/solved.ipynb" --seed 31337 --out "$dir/warm" >/dev/null 2>&1  # compiles what is stale
one_start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$dir/one.rss" "$grader" grade "$dir/solved.ipynb" --seed 31337 --out "$dir/one" >/dev/null 2>&1
one=$(echo "$(date +%s.%N) - $one_start" | bc)
mkdir "$dir/batch"
for i in $(seq -w 1 "$n"); do cp "$dir/solved.ipynb" "$dir/batch/student-$i.ipynb"; done
start=$(date +%s.%N)
/usr/bin/time -f "%M" -o "$dir/batch.rss" "$grader" grade "$dir/batch" --seed 31337 --jobs "$jobs" --out "$dir/grades" >/dev/null 2>&1
total=$(echo "$(date +%s.%N) - $start" | bc)
graded=$(grep -c ',100,100,' "$dir/grades/summary.csv" || true)
printf 'one submission: %.1f s (peak RSS of the grader %s MB)\n' "$one" "$(( $(cat "$dir/one.rss") / 1024 ))"
printf 'batch of %s with --jobs %s: %.0f s, %.1f s per submission, %.0f per hour; %s of %s scored 100; peak RSS %s MB\n' \
  "$n" "$jobs" "$total" "$(echo "$total / $n" | bc -l)" "$(echo "3600 * $n / $total" | bc -l)" "$graded" "$n" "$(( $(cat "$dir/batch.rss") / 1024 ))"
rm -rf "$dir"
