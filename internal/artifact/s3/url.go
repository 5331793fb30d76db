package s3

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// ParseURL reads a store's location from
// s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&tls=false. The endpoint
// defaults to s3.amazonaws.com (s3.REGION.amazonaws.com with a region) and
// TLS to on. Credentials are not part of the URL: the caller fills AccessKey
// and SecretKey. Errors do not repeat the URL.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, fmt.Errorf("artifact store URL: not a URL")
	}
	if u.Scheme != "s3" {
		return Config{}, fmt.Errorf("artifact store URL: scheme %q is not s3", u.Scheme)
	}
	if u.User != nil {
		return Config{}, fmt.Errorf("artifact store URL: credentials do not belong in the URL; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if u.Host == "" {
		return Config{}, fmt.Errorf("artifact store URL: no bucket (s3://BUCKET/PREFIX)")
	}
	cfg := Config{Bucket: u.Host, Prefix: strings.Trim(u.Path, "/"), TLS: true}
	for name, values := range u.Query() {
		v := values[len(values)-1]
		switch name {
		case "endpoint":
			cfg.Endpoint = v
		case "region":
			cfg.Region = v
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return Config{}, fmt.Errorf("artifact store URL: tls=%q is not true or false", v)
			}
			cfg.TLS = b
		default:
			return Config{}, fmt.Errorf("artifact store URL: unknown parameter %q (known: endpoint, region, tls)", name)
		}
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "s3.amazonaws.com"
		if cfg.Region != "" {
			cfg.Endpoint = "s3." + cfg.Region + ".amazonaws.com"
		}
	}
	return cfg, nil
}
