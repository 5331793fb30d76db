"""The dependency checker of CodePipeline's recipe, as a Lambda handler.

A downstream pipeline must not start while its upstream pipeline runs. On
AWS this is a Lambda function: it reads the upstream's state
(GetPipelineState); while the upstream is busy it schedules itself to look
again in five minutes (an EventBridge rule: PutRule + PutTargets), and once
the upstream is idle it starts the downstream pipeline
(StartPipelineExecution) and removes its schedule (RemoveTargets +
DeleteRule). Invoked by a pipeline's Lambda invoke action, it answers for
its job (PutJobSuccessResult).

It is written for AWS and runs unchanged as a sluice function: sluice gives
the function's process AWS_ENDPOINT_URL, AWS_REGION and short-lived
credentials of the function's role, which boto3 reads by itself. (sluice's
own answer to this recipe is a gate action, released within milliseconds;
see examples/dependencies.)
"""

import json
import os
import sys

import boto3

UPSTREAM = os.environ["UPSTREAM_PIPELINE"]
DOWNSTREAM = os.environ["DOWNSTREAM_PIPELINE"]
RULE = os.environ.get("RETRY_RULE", DOWNSTREAM + "-waits-for-" + UPSTREAM)
RETRY = os.environ.get("RETRY_SCHEDULE", "rate(5 minutes)")

codepipeline = boto3.client("codepipeline")
events = boto3.client("events")


def upstream_busy():
    state = codepipeline.get_pipeline_state(name=UPSTREAM)
    for stage in state.get("stageStates", []):
        if (stage.get("latestExecution") or {}).get("status") == "InProgress":
            return True
    return False


def schedule_retry(context):
    events.put_rule(Name=RULE, ScheduleExpression=RETRY, State="ENABLED",
                    Description="%s waits for %s to be idle" % (DOWNSTREAM, UPSTREAM))
    events.put_targets(Rule=RULE, Targets=[{
        "Id": "dependency-checker",
        "Arn": context.invoked_function_arn,
        "Input": json.dumps({"retry": True}),
    }])


def unschedule():
    try:
        events.remove_targets(Rule=RULE, Ids=["dependency-checker"])
        events.delete_rule(Name=RULE)
    except events.exceptions.ResourceNotFoundException:
        pass  # nothing was scheduled


def handler(event, context):
    job = event.get("CodePipeline.job") if isinstance(event, dict) else None
    if upstream_busy():
        schedule_retry(context)
        result = {"started": False, "waitingFor": UPSTREAM}
    else:
        execution = codepipeline.start_pipeline_execution(name=DOWNSTREAM)
        unschedule()
        result = {"started": True, "pipelineExecutionId": execution["pipelineExecutionId"]}
    if job:
        codepipeline.put_job_success_result(jobId=job["id"], executionDetails={"summary": json.dumps(result)})
    print(json.dumps(result))
    return result


class LambdaContext:
    """What Lambda's context gives the handler, from the environment."""

    def __init__(self):
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "dependency-checker")
        # sluice takes a function's name where EventBridge takes its ARN.
        self.invoked_function_arn = os.environ.get("FUNCTION_ARN", self.function_name)


if __name__ == "__main__":
    # sluice hands a command function its event on standard input.
    handler(json.load(sys.stdin), LambdaContext())
