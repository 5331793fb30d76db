-- Test reports of builds, one per report group and job, kept with the execution.
CREATE TABLE reports (
    job_id       TEXT NOT NULL,
    grp          TEXT NOT NULL,
    execution_id TEXT NOT NULL,
    stage        TEXT NOT NULL,
    action       TEXT NOT NULL,
    document     TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    PRIMARY KEY (job_id, grp)
);
CREATE INDEX reports_by_execution ON reports (execution_id, stage, action, created_ms);
