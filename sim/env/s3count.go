package env

import (
	"net/http"
	"net/url"
	"strings"
)

// Counting S3 requests. On a fake S3 the harness serves itself, each
// request is counted as it arrives (countS3, in front of the handler). On
// a server it does not serve, each request is counted as it leaves: every
// S3 client the Remote builds sends through countingTransport. Both sides
// name operations with s3Op, so the two counts cannot drift apart, and
// each request path has exactly one of them (no double count).

// countingTransport counts the requests it sends to the S3 endpoint, by
// operation. Each attempt is a request: the SDK's retries pass through
// here one by one, as they reach the server. Requests to other hosts pass
// uncounted: the devices' client also polls the result API.
type countingTransport struct {
	next http.RoundTripper
	host string // the endpoint's host:port
	// base is the endpoint's path ("" for most servers); it is trimmed so
	// that s3Op sees /bucket/key, as a server behind that path would.
	base string
	c    *opCounter
}

// countS3Client makes hc count its requests to endpoint into c; it
// returns hc.
func countS3Client(hc *http.Client, endpoint string, c *opCounter) *http.Client {
	u, err := url.Parse(endpoint)
	if err != nil {
		return hc // NewRemote has checked the URL
	}
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = countingTransport{next: next, host: u.Host, base: strings.TrimSuffix(u.Path, "/"), c: c}
	return hc
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.EqualFold(req.URL.Host, t.host) {
		t.c.add(s3Op(t.relative(req)))
	}
	return t.next.RoundTrip(req)
}

// relative is req as a server behind the endpoint's path sees it (a
// shallow copy; s3Op only reads it).
func (t countingTransport) relative(req *http.Request) *http.Request {
	if t.base == "" || !strings.HasPrefix(req.URL.Path, t.base+"/") {
		return req
	}
	u := *req.URL
	u.Path = strings.TrimPrefix(u.Path, t.base)
	r := *req
	r.URL = &u
	return &r
}

// snapshot copies the counts.
func (c *opCounter) snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int64, len(c.n))
	for k, v := range c.n {
		m[k] = v
	}
	return m
}
