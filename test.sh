#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: checks formatting and vet, then runs
# every test (unit, store conformance on SQLite and PostgreSQL, end to end against
# the real binary, the console in a real browser). It says what it installs before
# installing it, prints each step with the time since it began, and stops what it
# starts. Arguments are passed to go test (./test.sh -run TestX, ./test.sh -short).
set -euo pipefail
cd "$(dirname "$0")"

start=$SECONDS
step() { printf '== [%3ds] %s\n' "$((SECONDS - start))" "$*"; }
need() { command -v "$1" >/dev/null 2>&1; }

if ! need go; then
  echo "test.sh: Go is required (https://go.dev/dl/); nothing else needs installing by hand" >&2
  exit 1
fi

# What the tests drive: real shells and git (end to end), bubblewrap (build
# isolation), Chromium (the console's browser tests; skipped, saying so, where it
# cannot be installed).
missing=()
need bash || missing+=(bash)
need git || missing+=(git)
need bwrap || missing+=(bubblewrap)
# git over SSH is tested with the real OpenSSH client (e2e/ssh_test.go).
{ need ssh && need ssh-keygen; } || missing+=(openssh-client)
browser=chromium
if need chromium || need chromium-browser; then browser=""; fi
can_install=""
if [ "$(id -u)" = 0 ] && need apt-get; then can_install=1; fi
# The CNCF container registry the image-source tests push to: Debian packages
# it (seconds to install); elsewhere the tests build it from its module.
if [ -n "$can_install" ] && [ ! -x /usr/bin/docker-registry ]; then missing+=(docker-registry); fi
# A real Prometheus for the stage conditions' Metric rule (Debian packages it).
if [ -n "$can_install" ] && ! need prometheus; then missing+=(prometheus); fi
if [ -n "$browser" ]; then
  if [ -n "$can_install" ]; then
    missing+=(chromium)
  else
    echo "test.sh: chromium is not installed: the console's browser tests will be skipped" >&2
  fi
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ -z "$can_install" ]; then
    echo "test.sh: please install: ${missing[*]}" >&2
    exit 1
  fi
  estimate="a few seconds"
  case " ${missing[*]} " in *" chromium "*) estimate="about 1 minute" ;; esac
  step "installing ${missing[*]} with apt-get ($estimate)"
  export DEBIAN_FRONTEND=noninteractive
  # One update, then one install; an install that fails on a stale index is
  # tried once more after a fresh update (mirrors change under a long-lived
  # machine's feet).
  apt_log=$(mktemp)
  trap 'rm -f "$apt_log"' EXIT
  if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
    step "apt-get failed; updating the package index and trying once more"
    if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
      cat "$apt_log" >&2
      echo "test.sh: could not install ${missing[*]}" >&2
      exit 1
    fi
  fi
  step "installed ${missing[*]}"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi

step "go vet (compiles everything: a few minutes on a fresh machine, seconds after)"
go vet ./...

# Gitea builds from source (10 to 30 minutes on two cores, once per machine:
# the binary is cached outside the checkout), longer than a test package may
# run, so when it is asked for it is built first, by its harness's own test.
if [ "${CI:-}" = true ] || [ "${SLUICE_GITEA_TESTS:-}" = 1 ]; then
  step "Gitea for the git host tests (built once per machine, 10 to 30 minutes the first time)"
  go test -count=1 -timeout 60m -run '^TestServer$' ./internal/githost/giteatest
fi

replica_tests='^(TestPipelineGateWaitsForUpstream|TestLockSharedByThreePipelines|TestApprovalThroughCLI|TestApprovalSurvivesKill9|TestPushTrigger|TestRuleDeliveriesSurviveKill9|TestGitRepos|TestProtectedBranch|TestGitOverSSH|TestMirrors|TestPullRequests|TestWebhook|TestAuth|TestCodeDeployAction)$'

step "go test (a line per package as each finishes)"
# -p 2: the machine this runs on in CI has two cores.
status=0
go test -p 2 -timeout 20m -count=1 ./... "$@" || status=$?

# The end-to-end suite again with every test's server made of two replicas on
# one PostgreSQL behind a round-robin proxy (e2e/replicamode_test.go). The
# whole suite doubled does not fit the suite's time on two cores, so this is
# a representative subset: gates, locks, approvals, triggers, rules, git over
# HTTP and SSH, mirrors, pull requests, webhooks, auth, CodeDeploy. All of it:
# SLUICE_E2E_REPLICAS=2 go test ./e2e
if [ $# = 0 ]; then
  step "end to end against two replicas on one PostgreSQL (a subset; SLUICE_E2E_REPLICAS=2 go test ./e2e runs all)"
  SLUICE_E2E_REPLICAS=2 go test -count=1 -timeout 15m -run "$replica_tests" ./e2e || status=$?
fi
if [ $status = 0 ]; then
  step "all tests passed"
else
  step "tests FAILED (exit status $status)"
fi
exit $status
