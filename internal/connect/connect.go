// Package connect turns the harness's server flags and environment
// variables into go-redis options, shared by simrun, the Lambda entry
// point and the coordinator process.
package connect

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrURL is wrapped by every parse error.
var ErrURL = errors.New("bad server URL")

// RedisOptions parses redis://[user:pass@]host:port[/db], rediss:// (TLS),
// a bare host:port, or several comma-separated addresses (a Redis
// Cluster) into go-redis's universal options; "?cluster=true" makes a
// single seed address a cluster too. Errors never show a password.
func RedisOptions(s string) (*redis.UniversalOptions, error) {
	parts := strings.Split(s, ",")
	uo := &redis.UniversalOptions{}
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("%w: redis address %d of %q is empty", ErrURL, i+1, Redact(s))
		}
		if !strings.Contains(p, "://") {
			p = "redis://" + p
		}
		u, err := url.Parse(p)
		if err != nil {
			return nil, fmt.Errorf("%w: redis URL %q does not parse", ErrURL, Redact(p))
		}
		q := u.Query()
		if c := q.Get("cluster"); c != "" {
			uo.IsClusterMode = c == "true" || c == "1" || c == "yes"
			q.Del("cluster")
			u.RawQuery = q.Encode()
		}
		ro, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, fmt.Errorf("%w: redis URL %q: %s", ErrURL, Redact(p), strings.ReplaceAll(err.Error(), u.String(), Redact(p)))
		}
		uo.Addrs = append(uo.Addrs, ro.Addr)
		if i == 0 {
			uo.Username, uo.Password, uo.DB, uo.TLSConfig = ro.Username, ro.Password, ro.DB, ro.TLSConfig
		}
	}
	if (len(uo.Addrs) > 1 || uo.IsClusterMode) && uo.DB != 0 {
		return nil, fmt.Errorf("%w: a Redis Cluster has no database %d", ErrURL, uo.DB)
	}
	return uo, nil
}

// Redact hides passwords in a (comma-separated) URL for messages.
func Redact(s string) string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if u, err := url.Parse(strings.TrimSpace(p)); err == nil && u.User != nil {
			p = u.Redacted()
		}
		out = append(out, p)
	}
	return strings.Join(out, ",")
}
