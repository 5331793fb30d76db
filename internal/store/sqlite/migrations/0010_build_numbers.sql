-- The last build number given to each build project's builds
-- (CODEBUILD_BUILD_NUMBER). Kept apart from the projects table so that a
-- project deleted and applied again goes on counting.
CREATE TABLE build_numbers (
    project TEXT PRIMARY KEY,
    last    INTEGER NOT NULL
);
