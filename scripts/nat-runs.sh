#!/usr/bin/env bash
# Run the NAT integration test N times (default 10, the cone topology) and sum up its figures:
# time to know, time to a direct (hole-punched) connection, the share of runs that got one, the
# bytes the relay carried. Needs what the test needs (root, nftables, coturn); build first
# (`npm run build`: the test starts the daemon from dist/).
#   scripts/nat-runs.sh [RUNS] [cone|symmetric]
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
topology=${2:-cone}
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
for i in $(seq 1 "$runs"); do
  FEDMESH_NAT_FIGURES="$figures" npx vitest run test/integration/nat.test.ts -t "${topology} NATs" >/dev/null 2>&1
  echo "run $i/$runs: $(tail -n 1 "$figures")" >&2
done
npx node -e '
  const lines = require("node:fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map(l => JSON.parse(l))
  const stats = (key) => {
    const v = lines.map(l => l[key]).filter(x => typeof x === "number").sort((a, b) => a - b)
    if (v.length === 0) return null
    const q = (p) => v[Math.min(v.length - 1, Math.floor(p * v.length))]
    return { n: v.length, min: v[0], median: q(0.5), max: v[v.length - 1] }
  }
  const keys = [...new Set(lines.flatMap(l => Object.keys(l)))].filter(k => typeof lines.find(l => k in l)[k] === "number")
  process.stdout.write(JSON.stringify({
    topology: process.argv[2],
    runs: lines.length,
    passed: lines.filter(l => l.passed).length,
    direct: lines.filter(l => typeof l.directMs === "number").length,
    ...Object.fromEntries(keys.map(k => [k, stats(k)]))
  }) + "\n")
' "$figures" "$topology"
