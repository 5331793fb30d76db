package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/engine"
	"github.com/sluice-ci/sluice/internal/store"
)

// Functions answer for their job themselves, as Lambda functions call
// PutJobSuccessResult and PutJobFailureResult: with a token scoped to that one
// job. The token is derived from the job's id with the server's key, so it
// needs no storage, and it is worth nothing once the job has ended.

const jobTokenPrefix = "sjt_"

// DefaultContinuationInterval is how long a function that answered with a
// continuation token waits before it is invoked again, unless its action's
// ContinuationIntervalSeconds says otherwise.
const DefaultContinuationInterval = 30 * time.Second

// jobTokenKeys are the keys that sign job tokens, derived from the secret
// keys: the first signs, and each verifies, so that a token given out before
// the secret key was rotated still answers for its job.
func (s *Service) jobTokenKeys() [][]byte {
	s.tokenKeyOnce.Do(func() {
		if len(s.secretKey) > 0 {
			for _, k := range append([][]byte{s.secretKey}, s.decryptKeys...) {
				mac := hmac.New(sha256.New, k)
				mac.Write([]byte("sluice job tokens"))
				s.tokenKeys = append(s.tokenKeys, mac.Sum(nil))
			}
			return
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		s.tokenKeys = [][]byte{key}
	})
	return s.tokenKeys
}

func jobMACWith(key []byte, jobID string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(jobID))
	return hex.EncodeToString(mac.Sum(nil))
}

func (s *Service) jobMAC(jobID string) string { return jobMACWith(s.jobTokenKeys()[0], jobID) }

// JobToken returns the token that lets a function answer for job jobID.
func (s *Service) JobToken(jobID string) string {
	return jobTokenPrefix + jobID + "." + s.jobMAC(jobID)
}

// IsJobToken reports whether token has the form of a job token.
func IsJobToken(token string) bool { return strings.HasPrefix(token, jobTokenPrefix) }

// JobOfToken returns the job a job token was made for.
func (s *Service) JobOfToken(token string) (string, bool) {
	rest, ok := strings.CutPrefix(token, jobTokenPrefix)
	if !ok {
		return "", false
	}
	id, mac, ok := strings.Cut(rest, ".")
	if !ok || id == "" {
		return "", false
	}
	for _, key := range s.jobTokenKeys() {
		if hmac.Equal([]byte(mac), []byte(jobMACWith(key, id))) {
			return id, true
		}
	}
	return id, false
}

// FunctionSuccess is a function's PutJobSuccessResult.
type FunctionSuccess struct {
	// ContinuationToken, when set, means the function is not done: it is
	// invoked again later with this token.
	ContinuationToken string
	OutputVariables   map[string]string
	Summary           string
}

// answerable returns the job a function may answer for: running, invoked and
// not yet answered.
func answerable(tx store.Tx, ctx context.Context, jobID string) (store.Job, engine.Job, error) {
	cur, err := tx.Job(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		return cur, engine.Job{}, Errorf(CodeNotFound, "job %s not found", jobID)
	}
	if err != nil {
		return cur, engine.Job{}, err
	}
	switch {
	case cur.Status == store.JobQueued:
		return cur, engine.Job{}, Errorf(CodeConflict, "job %s has not been invoked yet", jobID)
	case cur.Status.Finished():
		return cur, engine.Job{}, Errorf(CodeConflict, "job %s has ended already (%s); an answer counts only once", jobID, cur.Status)
	}
	var j engine.Job
	if err := json.Unmarshal(cur.Payload, &j); err != nil {
		return cur, engine.Job{}, fmt.Errorf("decode job %s: %w", jobID, err)
	}
	return cur, j, nil
}

// PutJobSuccessResult records a function's success, or its continuation.
func (s *Service) PutJobSuccessResult(ctx context.Context, jobID string, res FunctionSuccess) (err error) {
	defer func() {
		if err == nil {
			s.revokeJobCredentials(ctx, jobID) // the invocation is over (functionkeys.go)
		}
	}()
	if len(res.Summary) > 2048 || len(res.ContinuationToken) > 2048 {
		return Errorf(CodeInvalid, "summary and continuationToken: at most 2048 characters each")
	}
	for k := range res.OutputVariables {
		if err := validateName("outputVariables", k); err != nil {
			return err
		}
	}
	row, err := s.store.Job(ctx, jobID)
	if err != nil {
		return Errorf(CodeNotFound, "job %s not found", jobID)
	}
	err = s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		_, j, err := answerable(tx, ctx, jobID)
		if err != nil {
			return nil, err
		}
		now := s.now()
		if res.ContinuationToken != "" {
			if err := tx.FinishJob(ctx, store.FinishJobParams{ID: jobID, Status: store.JobSucceeded, Message: "continues with a continuation token", Now: now}); err != nil {
				return nil, err
			}
			after := DefaultContinuationInterval
			if v, err := strconv.Atoi(j.Configuration["ContinuationIntervalSeconds"]); err == nil && v > 0 {
				after = time.Duration(v) * time.Second
			}
			return engine.JobContinued{JobID: jobID, Token: res.ContinuationToken, After: after, Summary: res.Summary}, nil
		}
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: jobID, Status: store.JobSucceeded, Message: res.Summary, Now: now}); err != nil {
			return nil, err
		}
		return engine.JobSucceeded{JobID: jobID, Summary: res.Summary, OutputVariables: res.OutputVariables}, nil
	})
	return s.answerError(ctx, row, err)
}

// PutJobFailureResult records a function's failure.
func (s *Service) PutJobFailureResult(ctx context.Context, jobID, message string) (err error) {
	defer func() {
		if err == nil {
			s.revokeJobCredentials(ctx, jobID) // the invocation is over (functionkeys.go)
		}
	}()
	if message == "" {
		return Errorf(CodeInvalid, "message: required; say why the job failed")
	}
	if len(message) > 8192 {
		return Errorf(CodeInvalid, "message: at most 8192 characters")
	}
	row, err := s.store.Job(ctx, jobID)
	if err != nil {
		return Errorf(CodeNotFound, "job %s not found", jobID)
	}
	err = s.decide(ctx, row.Pipeline, row.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		if _, _, err := answerable(tx, ctx, jobID); err != nil {
			return nil, err
		}
		if err := tx.FinishJob(ctx, store.FinishJobParams{ID: jobID, Status: store.JobFailed, Message: message, Now: s.now()}); err != nil {
			return nil, err
		}
		return engine.JobFailed{JobID: jobID, Message: message}, nil
	})
	return s.answerError(ctx, row, err)
}

func (s *Service) answerError(ctx context.Context, row store.Job, err error) error {
	if errors.Is(err, engine.ErrUnknownJob) {
		// The action was stopped or timed out in between.
		_ = s.store.Update(ctx, row.Pipeline, func(tx store.Tx) error {
			return tx.FinishJob(ctx, store.FinishJobParams{ID: row.ID, Status: store.JobCancelled, Message: "answer arrived after the action ended", Now: s.now()})
		})
		return Errorf(CodeConflict, "job %s: its action is no longer running", row.ID)
	}
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "job %s not found", row.ID)
	}
	return err
}

// parkJob lets a worker go of a job whose function was invoked: the function
// answers through the API before the action's deadline, and no worker waits
// for it meanwhile.
func (s *Service) parkJob(ctx context.Context, j store.Job, worker string, res JobResult) error {
	err := s.decide(ctx, j.Pipeline, j.ExecutionID, func(tx store.Tx, st *engine.State) (engine.Happening, error) {
		cur, err := tx.Job(ctx, j.ID)
		if err != nil {
			return nil, err
		}
		if cur.Status.Finished() {
			// The function answered before its process ended: nothing to park.
			return engine.Reconcile{}, tx.AppendLog(ctx, j.ID, res.Log)
		}
		if cur.Status != store.JobInProgress || cur.Worker != worker {
			return nil, s.notHeld(ctx, j.ID, worker)
		}
		if err := tx.AppendLog(ctx, j.ID, res.Log); err != nil {
			return nil, err
		}
		if err := tx.ParkJob(ctx, j.ID); err != nil {
			return nil, err
		}
		return engine.ActionProgress{JobID: j.ID, Summary: res.Summary}, nil
	})
	if errors.Is(err, engine.ErrUnknownJob) {
		return nil
	}
	return err
}
