package coordinator

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/redis/go-redis/v9"
)

// Tokens issues and checks per-user bearer tokens: "USER.MAC" where MAC is
// an HMAC-SHA256 of the user under a server secret. No token table is kept.
type Tokens struct{ Secret []byte }

// Token is the bearer token of user.
func (t Tokens) Token(user string) string { return user + "." + t.mac(user) }

// User returns the user a token belongs to.
func (t Tokens) User(token string) (string, bool) {
	user, mac, ok := strings.Cut(token, ".")
	if !ok || !ValidName(user) {
		return "", false
	}
	return user, hmac.Equal([]byte(mac), []byte(t.mac(user)))
}

func (t Tokens) mac(user string) string {
	m := hmac.New(sha256.New, t.Secret)
	m.Write([]byte(user))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// Result reads the stored result of a user's upload; ok is false when the
// upload has not been decided (or does not exist).
func (c *Coordinator) Result(ctx context.Context, user, id string) (Result, bool, error) {
	doc, err := c.rdb.Get(ctx, c.resultKey(user, id)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Result{}, false, nil
	}
	if err != nil {
		return Result{}, false, fmt.Errorf("read result %s: %w", id, err)
	}
	var r Result
	if err := json.Unmarshal(doc, &r); err != nil {
		return Result{}, false, fmt.Errorf("decode result %s: %w", id, err)
	}
	return r, true, nil
}

// Staged reports whether a user's upload is still in the staging area.
func (c *Coordinator) Staged(ctx context.Context, user, id string) (bool, error) {
	key := c.StagingKey(user, id)
	_, err := c.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &c.cfg.Bucket, Key: &key})
	if err == nil {
		return true, nil
	}
	if errors.Is(classify("", err), errNotFound) {
		return false, nil
	}
	return false, fmt.Errorf("head %s: %w", key, err)
}

// authorize answers 401 unless r carries a valid bearer token, and
// returns the token's user.
func authorize(w http.ResponseWriter, r *http.Request, tokens Tokens) (string, bool) {
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	user, valid := tokens.User(auth)
	if !ok || !valid {
		w.Header().Set("WWW-Authenticate", `Bearer realm="stormsim"`)
		httpError(w, http.StatusUnauthorized, "missing or invalid bearer token")
		return "", false
	}
	return user, true
}

// API returns the result query handler: GET /v1/uploads/{id}.
func (c *Coordinator) API(tokens Tokens) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/uploads/{id}", func(w http.ResponseWriter, r *http.Request) {
		user, ok := authorize(w, r, tokens)
		if !ok {
			return
		}
		id := r.PathValue("id")
		if !ValidName(id) {
			httpError(w, http.StatusNotFound, "no such upload")
			return
		}
		res, code, msg := c.answer(r.Context(), user, id)
		if code != http.StatusOK {
			httpError(w, code, msg)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(res)
	})
	return http.MaxBytesHandler(mux, 1<<10)
}

// answer is what GET /v1/uploads/{id} says of user's upload id: its stored
// result; pending while its staged object waits for the handler; or an
// HTTP error code and message.
func (c *Coordinator) answer(ctx context.Context, user, id string) (Result, int, string) {
	res, found, err := c.Result(ctx, user, id)
	if err != nil {
		return Result{}, http.StatusServiceUnavailable, "result store unavailable"
	}
	if found {
		return res, http.StatusOK, ""
	}
	staged, err := c.Staged(ctx, user, id)
	if err != nil {
		return Result{}, http.StatusServiceUnavailable, "object store unavailable"
	}
	if staged {
		return Result{ID: id, State: StatePending}, http.StatusOK, ""
	}
	// The handler stores the result before it deletes the staged object,
	// so a decision made between the two reads above is in the result
	// store now. Only when it is not there either is the upload unknown
	// (or its result expired).
	res, found, err = c.Result(ctx, user, id)
	switch {
	case err != nil:
		return Result{}, http.StatusServiceUnavailable, "result store unavailable"
	case !found:
		return Result{}, http.StatusNotFound, "no such upload"
	}
	return res, http.StatusOK, ""
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// NewServer wraps h in an http.Server with the timeouts and limits a public
// endpoint needs.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    8 << 10,
	}
}

// Listen opens addr, loopback when addr names no host ("" or ":0").
func Listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	} else if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	return net.Listen("tcp", addr)
}

// HeadVersion is the file's current version as the strategy records it
// (the Redis head for redis-lock, the final object's metadata for
// s3-conditional); 0 when the file does not exist.
func (c *Coordinator) HeadVersion(ctx context.Context, user, p string) (int64, error) {
	if c.cfg.Strategy == StrategyS3Conditional {
		h, err := c.readHead(ctx, Upload{User: user, Path: p})
		return h.version, err
	}
	v, err := c.rdb.HGet(ctx, c.headKey(user, p), "v").Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read head of %s/%s: %w", user, p, err)
	}
	return v, nil
}
