#!/usr/bin/env bash
# Runs the example end to end against moto on this machine:
#   examples/aws/run.sh
# It starts moto and a sluice server on free ports of 127.0.0.1 in a temporary
# directory, pushes app/ to a hosted repository, applies the build project
# and the pipeline, waits for the execution (source -> self-update -> build
# -> change set replaced, then executed -> stack outputs used by a later
# action) and prints the stack's outputs as the last action saw them. Both
# servers stop when it ends. Needs: go, git, python3 with moto[server].
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # URL: until it answers, for up to a minute
	for _ in $(seq 600); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "no answer from $1" >&2; return 1
}

echo "building sluice"
(cd "$root" && go build -o "$work/sluice" ./cmd/sluice)
sluice=$work/sluice

moto_port=$(free_port)
moto=http://127.0.0.1:$moto_port
moto_server -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_http "$moto/moto-api/data.json"
echo "moto at $moto"

# The bucket the connection uploads templates and bundles to.
python3 - "$moto" <<'PY'
import sys, boto3
boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
             aws_access_key_id="test", aws_secret_access_key="test").create_bucket(Bucket="sluice-uploads")
PY

# The app's stack exists before its pipeline does, as a first deploy by hand
# (sam deploy, cdk deploy) makes it: the pipeline's change sets update it.
# (moto, unlike AWS, gives a stack created by a change set no outputs.)
python3 - "$moto" "$here/app/template.yml" <<'PY'
import sys, boto3
cfn = boto3.client("cloudformation", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")
body = open(sys.argv[2]).read().replace("__BUILT_AT__", "bootstrap")
cfn.create_stack(StackName="serverless-app", TemplateBody=body,
                 Parameters=[{"ParameterKey": "Release", "ParameterValue": "bootstrap"}])
PY

sluice_port=$(free_port)
"$sluice" server --data "$work/data" --addr "127.0.0.1:$sluice_port" --region us-east-1 >"$work/sluice.log" 2>&1 &
pids+=($!)
export SLUICE_SERVER=http://127.0.0.1:$sluice_port
wait_http "$SLUICE_SERVER/healthz"
export SLUICE_TOKEN=$(cat "$work/data/admin.token")
echo "sluice at $SLUICE_SERVER"

# The aws connection "local": moto's address, its test keys in a secret.
echo '{"accessKeyId": "test", "secretAccessKey": "test"}' | "$sluice" secret put local-keys
sed "s#MOTO#$moto#" "$here/connection.yml" >"$work/connection.yml"
"$sluice" connection apply -f "$work/connection.yml"

"$sluice" repo create serverless --description "the example's serverless app"
git -C "$work" init -q -b main app
cp -r "$here/app/." "$work/app/"
git -C "$work/app" add -A
git -C "$work/app" -c user.name=example -c user.email=example@localhost commit -qm "serverless app"
git -C "$work/app" -c credential.helper='!f() { echo username=sluice; echo "password=$SLUICE_TOKEN"; }; f' \
	push -q "$SLUICE_SERVER/git/serverless.git" main

"$sluice" project apply -f "$here/project.yml"
"$sluice" pipeline apply -f "$here/app/pipeline.yml"
out=$("$sluice" start serverless --wait) || { echo "$out"; exit 1; }
echo "$out"
"$sluice" logs serverless "$(echo "$out" | head -1)" Report
