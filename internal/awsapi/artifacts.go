package awsapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/google/uuid"
)

// Artifacts for custom actions' job workers, as CodePipeline gives them: an
// S3 location (bucket ArtifactBucket, key JOB/ARTIFACT) and
// artifactCredentials good for that one job's artifacts. The worker's S3
// client, pointed at sluice (AWS_ENDPOINT_URL), gets its inputs and puts its
// outputs here: GetObject and PutObject, path-style, signed with SigV4 for
// s3 with those credentials and their session token.

// ArtifactBucket is the bucket name of the artifacts job workers are given.
const ArtifactBucket = "sluice-artifacts"

// ArtifactPrefix is where the artifacts are served: /BUCKET/.
const ArtifactPrefix = "/" + ArtifactBucket + "/"

// maxArtifact bounds an output a job worker puts.
const maxArtifact = 5 << 30

// jobCredentials are the artifact credentials of job jobID: derived from
// the job's own token (the server's key and the job id), so they need no
// storage and are worth nothing once the job has ended. The key id names
// the job.
func (h *Handler) jobCredentials(jobID string) aws.Credentials {
	derive := func(what string) string {
		sum := sha256.Sum256([]byte(what + "\x00" + h.svc.JobToken(jobID)))
		return hex.EncodeToString(sum[:])
	}
	return aws.Credentials{
		AccessKeyID:     "ASIA" + strings.ToUpper(strings.ReplaceAll(jobID, "-", "")),
		SecretAccessKey: derive("artifact secret")[:40],
		SessionToken:    derive("artifact session"),
	}
}

// jobOfKeyID is the job an artifact key id was made for, or "".
func jobOfKeyID(id string) string {
	hexID, ok := strings.CutPrefix(id, "ASIA")
	if !ok || len(hexID) != 32 {
		return ""
	}
	job, err := uuid.Parse(hexID) // 32 hexadecimal digits
	if err != nil {
		return ""
	}
	return job.String()
}

// ServeArtifact answers GetObject and PutObject on ArtifactPrefix.
func (h *Handler) ServeArtifact(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := newRequestID()
	w.Header().Set("X-Amz-Request-Id", id)
	c := &call{params: map[string]string{"endpoint": "aws-s3"}}
	status, err := h.serveArtifact(w, r, c)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			ae = h.errorFor(operation{errs: errorNames{notFound: "NoSuchKey", conflict: "AccessDenied"}}, err)
		}
		status = ae.Status
		c.Err = ae.Type + ": " + ae.Message
		c.Denied = ae.Status == http.StatusForbidden
		// S3 answers in XML.
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(status)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>"+xmlEscape(ae.Type)+"</Code><Message>"+xmlEscape(ae.Message)+"</Message><RequestId>"+id+"</RequestId></Error>")
	}
	rerr := h.record(r, c, status, start, id)
	if rerr != nil {
		h.cfg.Logger.Error("audit record not written", "err", rerr, "request-id", id, "operation", c.Operation)
	}
	if err == nil && r.Method == http.MethodPut {
		// A change the trail cannot record is not confirmed.
		if rerr != nil {
			w.Header().Del("ETag")
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n<Error><Code>InternalError</Code><Message>the audit trail could not record this request</Message><RequestId>"+id+"</RequestId></Error>")
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func (h *Handler) serveArtifact(w http.ResponseWriter, r *http.Request, c *call) (int, error) {
	c.Operation = "GetJobInput"
	if r.Method == http.MethodPut {
		c.Operation = "PutJobOutput"
	}
	rest := strings.TrimPrefix(r.URL.Path, ArtifactPrefix)
	jobID, name, ok := strings.Cut(rest, "/")
	if !ok || jobID == "" || name == "" || strings.Contains(name, "/") {
		return 0, &Error{Type: "NoSuchKey", Status: 404, Message: "The specified key does not exist."}
	}
	c.Resource = "job/" + jobID
	c.params["artifact"] = truncate(name, 128)
	sig, aerr := parseAuthorization(r)
	if aerr != nil {
		return 0, s3Denied(aerr)
	}
	owner := jobOfKeyID(sig.keyID)
	if owner == "" || subtle.ConstantTimeCompare([]byte(owner), []byte(jobID)) != 1 {
		return 0, &Error{Type: "InvalidAccessKeyId", Status: 403, Message: "The AWS Access Key Id you provided does not exist in our records, or is not this job's."}
	}
	c.Principal = "job/" + jobID
	payloadHash := r.Header.Get("X-Amz-Content-Sha256")
	if payloadHash == "" {
		return 0, &Error{Type: "InvalidRequest", Status: 400, Message: "Missing required header for this request: x-amz-content-sha256"}
	}
	sc := scope{creds: h.jobCredentials(jobID), service: "s3", region: h.id.Region, mustSign: []string{"host", "x-amz-date", "x-amz-content-sha256"}, s3: true}
	if aerr := check(r.Context(), r, payloadHash, sig, sc, h.cfg.Now()); aerr != nil {
		return 0, s3Denied(aerr)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if payloadHash != emptyHash && payloadHash != "UNSIGNED-PAYLOAD" {
			return 0, &Error{Type: "XAmzContentSHA256Mismatch", Status: 400, Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		rc, err := h.svc.OpenInput(r.Context(), jobID, "", name)
		if err != nil {
			return 0, err
		}
		defer rc.Close()
		// HeadObject and ranged reads (what boto3's download_file and the
		// SDKs' transfer managers make) need the artifact's size and a
		// seekable copy: spooled to a temporary file, which http.ServeContent
		// answers HEAD, Range and If-* from.
		spool, err := os.CreateTemp("", "sluice-artifact-")
		if err != nil {
			return 0, err
		}
		defer os.Remove(spool.Name())
		defer spool.Close()
		if _, err := io.Copy(spool, rc); err != nil {
			return 0, err
		}
		w.Header().Set("Content-Type", "application/zip")
		http.ServeContent(w, r, "", time.Time{}, spool)
		return http.StatusOK, nil
	case http.MethodPut:
		var body io.Reader = http.MaxBytesReader(w, r.Body, maxArtifact)
		var sum hash.Hash
		if payloadHash != "UNSIGNED-PAYLOAD" {
			sum = sha256.New()
			body = io.TeeReader(body, sum)
		}
		if _, err := h.svc.PutOutput(r.Context(), jobID, "", name, body); err != nil {
			return 0, err
		}
		if sum != nil && hex.EncodeToString(sum.Sum(nil)) != payloadHash {
			// What was stored is not what was signed: the worker must put
			// it again before it answers for the job.
			return 0, &Error{Type: "XAmzContentSHA256Mismatch", Status: 400, Message: "The provided 'x-amz-content-sha256' header does not match what was computed."}
		}
		// Answered once the audit record is committed (ServeArtifact).
		w.Header().Set("ETag", `"`+payloadHash+`"`)
		return http.StatusOK, nil
	}
	return 0, &Error{Type: "MethodNotAllowed", Status: 405, Message: "The specified method is not allowed against this resource: sluice serves GetObject, HeadObject and PutObject of job artifacts."}
}

// emptyHash is the SHA-256 of nothing.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// s3Denied renames a signature refusal as S3 names it.
func s3Denied(e *Error) *Error {
	switch e.Type {
	case "InvalidSignatureException":
		return &Error{Type: "SignatureDoesNotMatch", Status: 403, Message: e.Message}
	case "MissingAuthenticationTokenException", "IncompleteSignatureException":
		return &Error{Type: "AccessDenied", Status: 403, Message: e.Message}
	case "UnrecognizedClientException":
		return &Error{Type: "InvalidToken", Status: 403, Message: e.Message}
	}
	return e
}
