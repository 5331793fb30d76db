package githost

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// App is a GitHub App's installation, as a connection names it: the app's
// id and PEM private key, and the installation whose repositories it reads.
type App struct {
	ID             int64
	InstallationID int64
	PrivateKey     []byte // PEM, PKCS#1 or PKCS#8, as GitHub hands it out
}

// installationTokens caches installation tokens until shortly before they
// expire (GitHub's last an hour): minting one is a round trip and counts
// against the app's rate limit.
var installationTokens = struct {
	sync.Mutex
	m map[string]cachedToken
}{m: map[string]cachedToken{}}

type cachedToken struct {
	token   string
	expires time.Time
}

// InstallationToken returns an installation access token for app on the
// GitHub (or GitHub Enterprise Server) at baseURL: a JWT signed with the
// app's key (RS256, issued a minute in the past for clock drift, valid nine
// minutes, as GitHub's documentation asks) exchanged at
// POST /app/installations/{id}/access_tokens. Errors never quote the key or
// a token.
func InstallationToken(ctx context.Context, hc *http.Client, baseURL string, app App, now time.Time) (string, error) {
	api := (&Client{Host: GitHub, BaseURL: baseURL}).apiBase()
	key := fmt.Sprintf("%s|%d|%d", api, app.ID, app.InstallationID)
	installationTokens.Lock()
	if c, ok := installationTokens.m[key]; ok && now.Before(c.expires.Add(-5*time.Minute)) {
		installationTokens.Unlock()
		return c.token, nil
	}
	installationTokens.Unlock()

	pk, err := parseRSAKey(app.PrivateKey)
	if err != nil {
		return "", err
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(app.ID, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-time.Minute)),
		ExpiresAt: jwt.NewNumericDate(now.Add(9 * time.Minute)),
	}).SignedString(pk)
	if err != nil {
		return "", fmt.Errorf("GitHub App %d: signing its JWT: %w", app.ID, err)
	}
	url := fmt.Sprintf("%s/app/installations/%d/access_tokens", api, app.InstallationID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+signed)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("GitHub App %d: installation %d token: %w", app.ID, app.InstallationID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusCreated {
		var e struct {
			Message string `json:"message"`
		}
		json.Unmarshal(body, &e)
		return "", &APIError{StatusCode: resp.StatusCode, Message: fmt.Sprintf("GitHub App %d: installation %d token: %s", app.ID, app.InstallationID, strings.TrimSpace(e.Message))}
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("GitHub App %d: installation %d token: an answer without a token", app.ID, app.InstallationID)
	}
	if out.ExpiresAt.IsZero() {
		out.ExpiresAt = now.Add(time.Hour)
	}
	installationTokens.Lock()
	installationTokens.m[key] = cachedToken{token: out.Token, expires: out.ExpiresAt}
	installationTokens.Unlock()
	return out.Token, nil
}

func parseRSAKey(pemKey []byte) (*rsa.PrivateKey, error) {
	pk, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey)
	if err != nil {
		// The library's message says what kind of key it wanted; the key
		// itself is never quoted.
		return nil, fmt.Errorf("the GitHub App's private key is not a PEM RSA key: %v", err)
	}
	return pk, nil
}
