"""Drives a sluice server with the aws CLI and boto3, as CodePipeline users do.

Usage: aws_e2e.py ENDPOINT_URL WORKDIR, with AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY of an admin token's access key, WORKER_KEY_ID and
WORKER_SECRET of a worker token's, VIEWER_KEY_ID and VIEWER_SECRET of a
viewer's. Prints OK at the end; any failure raises.
"""
import io
import json
import os
import subprocess
import sys
import time
import zipfile

import boto3
import botocore.exceptions

endpoint, workdir = sys.argv[1], sys.argv[2]
region = "us-east-1"


def cli(*args, expect_fail=False):
    """Runs the aws CLI against sluice and returns its JSON output."""
    cmd = ["aws", "--endpoint-url", endpoint, "--region", region, "--output", "json", "codepipeline", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if expect_fail:
        assert res.returncode != 0, f"{args} succeeded: {res.stdout}"
        return res.stderr
    assert res.returncode == 0, f"aws {' '.join(args)}: exit {res.returncode}\n{res.stderr}"
    return json.loads(res.stdout) if res.stdout.strip() else {}


def client(key=None, secret=None):
    kw = {}
    if key:
        kw = {"aws_access_key_id": key, "aws_secret_access_key": secret}
    return boto3.client("codepipeline", endpoint_url=endpoint, region_name=region, **kw)


def until(what, cond, timeout=30):
    """Polls cond, as a client of CodePipeline polls, until it holds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


cp = client()
approval = {"category": "Approval", "owner": "AWS", "provider": "Manual", "version": "1"}
pipeline = {
    "pipeline": {
        "name": "app",
        "roleArn": "arn:aws:iam::000000000000:role/CodePipelineRole",
        "artifactStore": {"type": "S3", "location": "bucket"},
        "pipelineType": "V2",
        "stages": [
            {"name": "Gate", "actions": [{"name": "approve", "actionTypeId": approval, "runOrder": 1}]},
            {"name": "Hold", "actions": [{"name": "wait", "actionTypeId": approval, "runOrder": 1}]},
        ],
    }
}
path = os.path.join(workdir, "pipeline.json")
with open(path, "w") as f:
    json.dump(pipeline, f)

# create (aws CLI) → list → get
out = cli("create-pipeline", "--cli-input-json", "file://" + path)
assert out["pipeline"]["version"] == 1, out
names = [p["name"] for p in cli("list-pipelines")["pipelines"]]
assert names == ["app"], names
got = cp.get_pipeline(name="app")
assert got["metadata"]["pipelineArn"] == "arn:aws:codepipeline:us-east-1:000000000000:app", got["metadata"]
assert cli("create-pipeline", "--cli-input-json", "file://" + path, expect_fail=True).find("PipelineNameInUseException") >= 0

# start (boto3), idempotently
first = cp.start_pipeline_execution(name="app", clientRequestToken="tok-1")["pipelineExecutionId"]
again = cp.start_pipeline_execution(name="app", clientRequestToken="tok-1")["pipelineExecutionId"]
assert first == again, (first, again)


def approval_token(stage):
    for s in cp.get_pipeline_state(name="app")["stageStates"]:
        if s["stageName"] == stage:
            latest = s["actionStates"][0].get("latestExecution", {})
            if latest.get("status") == "InProgress":
                return latest.get("token")
    return None


def status():
    return cp.get_pipeline_execution(pipelineName="app", pipelineExecutionId=first)["pipelineExecution"]["status"]


# reject (aws CLI) → the execution fails → retry → approve (boto3) → stop
token = until("the approval", lambda: approval_token("Gate"))
cli("put-approval-result", "--pipeline-name", "app", "--stage-name", "Gate", "--action-name", "approve",
    "--result", "summary=not yet,status=Rejected", "--token", token)
until("the failure", lambda: status() == "Failed")
try:
    cp.put_approval_result(pipelineName="app", stageName="Gate", actionName="approve",
                           result={"summary": "x", "status": "Approved"}, token=token)
    raise AssertionError("a second answer was taken")
except cp.exceptions.ApprovalAlreadyCompletedException:
    pass
cp.retry_stage_execution(pipelineName="app", stageName="Gate", pipelineExecutionId=first, retryMode="FAILED_ACTIONS")
token = until("the retried approval", lambda: approval_token("Gate"))
cp.put_approval_result(pipelineName="app", stageName="Gate", actionName="approve",
                       result={"summary": "go", "status": "Approved"}, token=token)
until("the next stage", lambda: approval_token("Hold"))
cli("stop-pipeline-execution", "--pipeline-name", "app", "--pipeline-execution-id", first, "--abandon", "--reason", "enough")
until("the stop", lambda: status() == "Stopped")
summaries = cli("list-pipeline-executions", "--pipeline-name", "app")["pipelineExecutionSummaries"]
assert [s["pipelineExecutionId"] for s in summaries] == [first], summaries

# errors, as botocore reads them
try:
    cp.get_pipeline(name="nope")
    raise AssertionError("a missing pipeline was found")
except cp.exceptions.PipelineNotFoundException as e:
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 400
viewer = client(os.environ["VIEWER_KEY_ID"], os.environ["VIEWER_SECRET"])
assert viewer.list_pipelines()["pipelines"], "a viewer cannot list"
try:
    viewer.delete_pipeline(name="app")
    raise AssertionError("a viewer deleted a pipeline")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDeniedException", e.response
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
wrong = client(os.environ["AWS_ACCESS_KEY_ID"], "x" * 40)
try:
    wrong.list_pipelines()
    raise AssertionError("a wrong secret was taken")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "InvalidSignatureException", e.response

# A custom action and its job worker, written as for CodePipeline.
cp.create_custom_action_type(
    category="Deploy", provider="PyDeployer", version="1",
    configurationProperties=[{"name": "Target", "required": True, "key": True, "secret": False}],
    inputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
    outputArtifactDetails={"minimumCount": 0, "maximumCount": 1},
)
type_id = {"category": "Deploy", "owner": "Custom", "provider": "PyDeployer", "version": "1"}
deploy = {
    "name": "deploy",
    "roleArn": "arn:aws:iam::000000000000:role/CodePipelineRole",
    "artifactStore": {"type": "S3", "location": "bucket"},
    "stages": [{"name": "Deploy", "actions": [{"name": "ship", "actionTypeId": type_id, "runOrder": 1,
                                                "namespace": "ship", "configuration": {"Target": "prod"},
                                                "outputArtifacts": [{"name": "receipt"}]}]}],
}
cp.create_pipeline(pipeline=deploy)
run = cp.start_pipeline_execution(name="deploy")["pipelineExecutionId"]

worker = client(os.environ["WORKER_KEY_ID"], os.environ["WORKER_SECRET"])


def work_once():
    jobs = worker.poll_for_jobs(actionTypeId=type_id, maxBatchSize=1)["jobs"]
    for job in jobs:
        ack = worker.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
        assert ack["status"] == "InProgress", ack
        target = job["data"]["actionConfiguration"]["configuration"]["Target"]
        # The output artifact goes where CodePipeline says, with the job's
        # own credentials, through an S3 client pointed at sluice.
        creds = job["data"]["artifactCredentials"]
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                          aws_access_key_id=creds["accessKeyId"], aws_secret_access_key=creds["secretAccessKey"],
                          aws_session_token=creds["sessionToken"])
        out = job["data"]["outputArtifacts"][0]["location"]["s3Location"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("receipt.txt", "shipped to " + target)
        s3.put_object(Bucket=out["bucketName"], Key=out["objectKey"], Body=buf.getvalue())
        worker.put_job_success_result(jobId=job["id"], executionDetails={"summary": "shipped to " + target},
                                      outputVariables={"target": target})
    return len(jobs)


until("a job", work_once)


def run_status():
    return cp.get_pipeline_execution(pipelineName="deploy", pipelineExecutionId=run)["pipelineExecution"]["status"]


until("the deploy", lambda: run_status() == "Succeeded")
details = cp.list_action_executions(pipelineName="deploy", filter={"pipelineExecutionId": run})["actionExecutionDetails"]
assert details[0]["output"]["outputVariables"] == {"target": "prod"}, details
assert details[0]["output"]["executionResult"]["externalExecutionSummary"] == "shipped to prod", details

cli("delete-pipeline", "--name", "app")
print("DEPLOY_RUN=" + run)
print("OK")
