#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: checks formatting and vet, then runs
# every test (unit, store conformance on SQLite, end to end against the real
# binary). It installs what the tests need and stops what it starts.
set -euo pipefail
cd "$(dirname "$0")"

need() { command -v "$1" >/dev/null 2>&1; }

if ! need go; then
  echo "test.sh: Go is required (https://go.dev/dl/); nothing else needs installing by hand" >&2
  exit 1
fi
# The end-to-end tests drive real shells and git; build isolation uses bubblewrap.
missing=()
need bash || missing+=(bash)
need git || missing+=(git)
need bwrap || missing+=(bubblewrap)
# The web console's browser tests drive Chromium (headless); where it cannot
# be installed they are skipped, saying so.
if ! need chromium && ! need chromium-browser; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    missing+=(chromium)
  else
    echo "test.sh: chromium is not installed: the console's browser tests will be skipped" >&2
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && need apt-get; then
    apt-get update -qq >/dev/null && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "test.sh: please install: ${missing[*]}" >&2
    exit 1
  fi
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
# -p 2: the machine this runs on in CI has two cores.
go test -p 2 -timeout 20m -count=1 ./... "$@"
