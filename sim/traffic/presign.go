package traffic

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/coordinator"
)

// presigner presigns the devices' staging PUTs: AWS Signature Version 4
// in the query string, byte for byte what the SDK's
// s3.PresignClient.PresignPutObject returns for a path-style endpoint
// (TestPresigner_Put_MatchesSDK pins the URL and the signed headers). A
// device PUT through the SDK's presign client cost about 370 of its 550
// allocations, nearly all in the operation's middleware stack (endpoint
// rules, checksum and retry setup, identity resolution), none of which
// applies to a presigned PUT of a known key; the signing itself is a few
// hashes. The derived signing key is kept for its day, as the SDK's
// signer caches it.
type presigner struct {
	scheme, host string // of the endpoint
	signedHost   string // host as signed: without a default port, as the SDK signs it
	prefix       string // bucket path: endpoint path + "/" + escaped bucket
	region       string
	creds        aws.CredentialsProvider
	now          func() time.Time

	mu      sync.Mutex // guards the signing key and its MACs
	keyDay  string     // yyyymmdd the key was derived for
	keyID   string     // secret it was derived from
	signKey []byte
	macs    []hash.Hash // idle HMACs keyed with signKey
}

// presignExpires is the SDK's default lifetime of a presigned URL (15
// minutes), as PresignPutObject sets it.
const presignExpires = "900"

// newPresigner returns the presigner for the devices' S3 client c and
// bucket, or nil when its endpoint is not one the hand-built signing
// covers (then the SDK presigns).
func newPresigner(c *s3.Client, bucket string) *presigner {
	o := c.Options()
	if o.BaseEndpoint == nil || !o.UsePathStyle || o.Credentials == nil || o.Region == "" {
		return nil
	}
	u, err := url.Parse(*o.BaseEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return nil
	}
	signedHost := u.Host
	if port := u.Port(); (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		signedHost = u.Hostname()
	}
	return &presigner{scheme: u.Scheme, host: u.Host, signedHost: signedHost,
		prefix: strings.TrimSuffix(u.EscapedPath(), "/") + "/" + string(appendEscape(nil, bucket, true)),
		region: o.Region, creds: o.Credentials, now: time.Now}
}

// put presigns a PUT of key with metadata meta. It returns the URL and
// sets the headers the request must carry (the x-amz-meta-* ones; Host is
// the URL's) in h.
func (p *presigner) put(ctx context.Context, key string, meta map[string]string, h http.Header) (string, error) {
	creds, err := p.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("retrieve credentials: %w", err)
	}
	var dateBuf [16]byte
	amzDate := p.now().UTC().AppendFormat(dateBuf[:0], "20060102T150405Z")
	day := amzDate[:8]

	// The metadata as the SDK serializes it: header X-Amz-Meta-<Key> with
	// the value as given, signed under its lower-case name, sorted.
	names := make([]string, 0, 8)
	vals := make([]string, 0, len(meta)) // one backing array for every header's value
	for k, v := range meta {
		name := metaHeader(k)
		names = append(names, name)
		vals = append(vals, v)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	slices.SortFunc(names, compareLower)

	bp := signBufs.Get().(*[]byte)
	defer signBufs.Put(bp)
	b := (*bp)[:0]
	// The URL without its signature: its path and query are also the
	// canonical request's (the query's parameters are in sorted order).
	b = append(b, p.scheme...)
	b = append(b, "://"...)
	b = append(b, p.host...)
	pathAt := len(b)
	b = append(b, p.prefix...)
	b = append(b, '/')
	b = appendEscape(b, key, false)
	pathEnd := len(b)
	b = append(b, '?')
	queryAt := len(b)
	b = append(b, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="...)
	b = appendEscape(b, creds.AccessKeyID, true)
	b = append(b, "%2F"...)
	b = append(b, day...)
	b = append(b, "%2F"...)
	b = appendEscape(b, p.region, true)
	b = append(b, "%2Fs3%2Faws4_request&X-Amz-Date="...)
	b = append(b, amzDate...)
	b = append(b, "&X-Amz-Expires="+presignExpires...)
	if creds.SessionToken != "" {
		b = append(b, "&X-Amz-Security-Token="...)
		b = appendEscape(b, creds.SessionToken, true)
	}
	b = append(b, "&X-Amz-SignedHeaders=host"...)
	for _, n := range names {
		b = append(b, "%3B"...)
		b = appendLower(b, n)
	}
	b = append(b, "&x-id=PutObject"...)
	urlEnd := len(b)

	b = append(b, "PUT\n"...)
	b = append(b, b[pathAt:pathEnd]...)
	b = append(b, '\n')
	b = append(b, b[queryAt:urlEnd]...)
	b = append(b, "\nhost:"...)
	b = appendStripped(b, p.signedHost)
	b = append(b, '\n')
	for _, n := range names {
		b = appendLower(b, n)
		b = append(b, ':')
		b = appendStripped(b, h[n][0])
		b = append(b, '\n')
	}
	b = append(b, "\nhost"...)
	for _, n := range names {
		b = append(b, ';')
		b = appendLower(b, n)
	}
	b = append(b, "\nUNSIGNED-PAYLOAD"...)
	crHash := sha256.Sum256(b[urlEnd:])

	stsAt := len(b)
	b = append(b, "AWS4-HMAC-SHA256\n"...)
	b = append(b, amzDate...)
	b = append(b, '\n')
	b = append(b, day...)
	b = append(b, '/')
	b = append(b, p.region...)
	b = append(b, "/s3/aws4_request\n"...)
	b = hex.AppendEncode(b, crHash[:])
	b = p.sign(day, creds.SecretAccessKey, b[stsAt:], b)
	var sig [2 * sha256.Size]byte
	hex.Encode(sig[:], b[len(b)-sha256.Size:])
	b = append(b[:urlEnd], "&X-Amz-Signature="...)
	b = append(b, sig[:]...)
	*bp = b
	return string(b), nil
}

// signBufs recycle the buffers a presign builds its canonical request in.
var signBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// knownMetaHeaders are the header names of the coordinator's metadata
// keys, so the common case builds no strings.
var knownMetaHeaders = func() map[string]string {
	m := make(map[string]string)
	for _, k := range []string{coordinator.MetaPath, coordinator.MetaBase, coordinator.MetaDevice, coordinator.MetaSHA256, coordinator.MetaUser} {
		m[k] = "X-Amz-Meta-" + strings.TrimSpace(http.CanonicalHeaderKey(k))
	}
	return m
}()

// metaHeader is the SDK's header name for metadata key k.
func metaHeader(k string) string {
	if n, ok := knownMetaHeaders[k]; ok {
		return n
	}
	return "X-Amz-Meta-" + strings.TrimSpace(http.CanonicalHeaderKey(k))
}

// compareLower orders header names as their lower-case forms sort.
func compareLower(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if x, y := lower(a[i]), lower(b[i]); x != y {
			return int(x) - int(y)
		}
	}
	return len(a) - len(b)
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// sign appends to dst the HMAC-SHA256 of sts under the SigV4 key of day
// and secret. The key is derived once per day (as the SDK's signer caches
// it) and its keyed MACs are reused.
func (p *presigner) sign(day []byte, secret string, sts, dst []byte) []byte {
	p.mu.Lock()
	if p.keyDay != string(day) || p.keyID != secret {
		k := hmacSHA256([]byte("AWS4"+secret), string(day))
		k = hmacSHA256(k, p.region)
		k = hmacSHA256(k, "s3")
		p.signKey, p.keyDay, p.keyID = hmacSHA256(k, "aws4_request"), string(day), secret
		p.macs = nil
	}
	var m hash.Hash
	if n := len(p.macs); n > 0 {
		m, p.macs = p.macs[n-1], p.macs[:n-1]
	} else {
		m = hmac.New(sha256.New, p.signKey)
	}
	key := p.keyDay
	p.mu.Unlock()

	m.Reset()
	m.Write(sts)
	dst = m.Sum(dst)

	p.mu.Lock()
	if p.keyDay == key && len(p.macs) < maxIdleMACs {
		p.macs = append(p.macs, m)
	}
	p.mu.Unlock()
	return dst
}

// maxIdleMACs bounds the keyed MACs kept for reuse (one per concurrent
// presign is enough).
const maxIdleMACs = 256

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// appendEscape is the SDK's escaping of paths (httpbinding.EscapePath) and
// query values (url.QueryEscape with spaces as %20), which agree: every
// byte but A-Z a-z 0-9 - . _ ~ as %XX, and "/" too when sep.
func appendEscape(b []byte, s string, sep bool) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; unreserved(c) || (c == '/' && !sep) {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return b
}

const upperHex = "0123456789ABCDEF"

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// appendStripped appends a header value as the SDK signer canonicalizes
// it: strings.TrimSpace of its StripExcessSpaces (spaces trimmed, inner
// runs of spaces folded to one).
func appendStripped(b []byte, s string) []byte {
	s = strings.TrimSpace(strings.Trim(s, " "))
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && i > 0 && s[i-1] == ' ' {
			continue
		}
		b = append(b, s[i])
	}
	return b
}
