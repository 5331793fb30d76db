package awsapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Signature Version 4, checked by recomputing the signature with the AWS
// SDK's own signer (never a hand-written chain of HMACs) over the headers the
// client says it signed, and comparing the two in constant time.

// MaxSkew is how far a request's X-Amz-Date may be from the server's clock,
// as AWS allows: a captured request replayed later than this is refused.
const MaxSkew = 5 * time.Minute

const (
	algorithm   = "AWS4-HMAC-SHA256"
	amzDate     = "20060102T150405Z"
	serviceName = "codepipeline"
	// codeCommitService is the service CodeCommit's requests are signed for.
	codeCommitService = "codecommit"
)

// signed is what the Authorization header of a request says.
type signed struct {
	keyID         string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     string
	at            time.Time
}

// parseAuthorization reads the Authorization and X-Amz-Date headers, or
// returns the error to answer: a request without them, or with a malformed
// one, is an IncompleteSignatureException.
func parseAuthorization(r *http.Request) (signed, *Error) {
	var s signed
	h := r.Header.Get("Authorization")
	if h == "" {
		return s, errMissingAuth()
	}
	rest, ok := strings.CutPrefix(h, algorithm+" ")
	if !ok {
		alg, _, _ := strings.Cut(h, " ")
		return s, errIncomplete("Unsupported AWS 'algorithm': %q; sign requests with %s (Signature Version 4)", alg, algorithm)
	}
	fields := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return s, errIncomplete("Authorization header: %q is not a key=value pair", strings.TrimSpace(part))
		}
		fields[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return s, errIncomplete("Authorization header requires '%s' parameter. Authorization=%s", k, redactSignature(h))
		}
	}
	cred := strings.Split(fields["Credential"], "/")
	if len(cred) != 5 || cred[4] != "aws4_request" {
		return s, errIncomplete("Credential %q: want ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request", fields["Credential"])
	}
	s.keyID, s.scopeDate, s.region, s.service = cred[0], cred[1], cred[2], cred[3]
	s.signedHeaders = strings.Split(fields["SignedHeaders"], ";")
	s.signature = fields["Signature"]
	date := r.Header.Get("X-Amz-Date")
	if date == "" {
		return s, errIncomplete("Authorization header requires existence of a 'X-Amz-Date' header. Authorization=%s", redactSignature(h))
	}
	t, err := time.Parse(amzDate, date)
	if err != nil {
		return s, errIncomplete("X-Amz-Date %q: want the ISO 8601 basic form, such as 20150830T123600Z", date)
	}
	s.at = t
	return s, nil
}

// redactSignature keeps a refusal's message from echoing the signature.
func redactSignature(h string) string {
	if i := strings.Index(h, "Signature="); i >= 0 {
		return h[:i] + "Signature=…"
	}
	return h
}

// mustSign are the headers a request must have signed: without host and
// x-amz-date the signature binds nothing to the server or the time, and
// without x-amz-target a request signed for one operation could be replayed
// as another (AWS's SDKs and CLI sign all three).
var mustSign = []string{"host", "x-amz-date", "x-amz-target"}

// ignoredBySigner are headers the SDK's signer never signs: a signature
// over one of them cannot be recomputed with it.
var ignoredBySigner = []string{"authorization", "user-agent", "x-amzn-trace-id", "expect", "transfer-encoding"}

// verify checks the request's signature, made with secret over body at
// s.at, against now. It returns the error to answer, or nil.
func verify(ctx context.Context, r *http.Request, body []byte, s signed, secret, service, region string, now time.Time) *Error {
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if v := r.Header.Get("X-Amz-Content-Sha256"); v != "" && v != payloadHash {
		return errSignature("The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	return check(ctx, r, payloadHash, s, scope{creds: aws.Credentials{AccessKeyID: s.keyID, SecretAccessKey: secret},
		service: service, region: region, mustSign: mustSign}, now)
}

// scope is what a signature is checked against: the credentials, the
// service and region it must be scoped to, the headers it must cover.
type scope struct {
	creds    aws.Credentials
	service  string
	region   string
	mustSign []string
	// s3 is S3's signing: paths are not escaped again, and the session
	// token is signed as X-Amz-Security-Token.
	s3 bool
}

// check recomputes the signature of r over payloadHash with the SDK's
// signer and compares it with the one r carries.
func check(ctx context.Context, r *http.Request, payloadHash string, s signed, sc scope, now time.Time) *Error {
	if s.scopeDate != s.at.Format("20060102") {
		return errSignature("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			s.scopeDate, s.at.Format("20060102"), s.at.Format(amzDate))
	}
	if s.service != sc.service {
		return errSignature("Credential should be scoped to correct service: '%s'.", sc.service)
	}
	if s.region != sc.region {
		return errSignature("Credential should be scoped to a valid region, not '%s'. This server's region is '%s' (sluice server --aws-region).", s.region, sc.region)
	}
	if early := now.Add(-MaxSkew); s.at.Before(early) {
		return errSignature("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			s.at.Format(amzDate), early.UTC().Format(amzDate), now.UTC().Format(amzDate))
	}
	if late := now.Add(MaxSkew); s.at.After(late) {
		return errSignature("Signature not yet current: %s is still later than %s (%s + 5 min.)",
			s.at.Format(amzDate), late.UTC().Format(amzDate), now.UTC().Format(amzDate))
	}
	for _, h := range sc.mustSign {
		if !slices.Contains(s.signedHeaders, h) {
			return errSignature("'%s' must be a 'SignedHeader' in the AWS Authorization.", h)
		}
	}
	// The request as the client signed it: its method, path and query, and
	// the headers it names, nothing more.
	u := &url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	again := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, h := range s.signedHeaders {
		switch {
		case h == "host" || h == "x-amz-date":
		case h == "content-length":
			again.ContentLength = r.ContentLength
		case h == "x-amz-security-token":
			if sc.creds.SessionToken == "" {
				return errUnrecognized("The security token included in the request is invalid: sluice issues no session tokens")
			}
			// The signer signs the one it was given: another in the
			// request does not match.
		case slices.Contains(ignoredBySigner, h):
			return errSignature("SignedHeaders names '%s', which sluice cannot check; do not sign it.", h)
		case h != strings.ToLower(h) || h == "":
			return errIncomplete("SignedHeaders: %q is not a lower-case header name", h)
		default:
			vs := r.Header.Values(h)
			if len(vs) == 0 {
				return errSignature("SignedHeaders names '%s', which the request does not have.", h)
			}
			again.Header[http.CanonicalHeaderKey(h)] = vs
		}
	}
	if sc.creds.SessionToken != "" && (r.Header.Get("X-Amz-Security-Token") == "" || !slices.Contains(s.signedHeaders, "x-amz-security-token")) {
		return errSignature("'x-amz-security-token' must be sent and signed with these credentials.")
	}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = sc.s3 })
	if err := signer.SignHTTP(ctx, sc.creds, again, payloadHash, s.service, s.region, s.at); err != nil {
		return errSignature("the signature could not be computed: %v", err)
	}
	want := ""
	if i := strings.Index(again.Header.Get("Authorization"), "Signature="); i >= 0 {
		want = again.Header.Get("Authorization")[i+len("Signature="):]
	}
	if want == "" || !hmac.Equal([]byte(want), []byte(s.signature)) {
		return errSignature("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return nil
}

func errMissingAuth() *Error {
	return &Error{Type: "MissingAuthenticationTokenException", Status: http.StatusForbidden,
		Message: "Missing Authentication Token: sign the request with an access key of a sluice token (sluice token create NAME --aws-keys)"}
}

func errIncomplete(format string, args ...any) *Error {
	return &Error{Type: "IncompleteSignatureException", Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}

func errSignature(format string, args ...any) *Error {
	return &Error{Type: "InvalidSignatureException", Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}

func errUnrecognized(format string, args ...any) *Error {
	return &Error{Type: "UnrecognizedClientException", Status: http.StatusForbidden, Message: fmt.Sprintf(format, args...)}
}
