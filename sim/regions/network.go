package regions

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stormsim/stormsim/internal/inproc"
	"github.com/stormsim/stormsim/internal/s3endpoint"
	"github.com/stormsim/stormsim/internal/syncx"
	"github.com/stormsim/stormsim/scenarios"
)

// network is the simulated wide-area network between regions: the one-way
// latency of each pair, and the regional faults in force (a region cut off,
// a region's storage down). Every S3 request of the run passes through it
// with the regions it goes from and to.
type network struct {
	names   []string
	latency [][]time.Duration
	mux     *inproc.Transport // routes s3.REGION hosts to each region's fake

	mu          sync.Mutex // guards the two sets below
	partitioned map[int]bool
	storageDown map[int]bool
}

func newNetwork(r *scenarios.Regions) *network {
	n := &network{mux: &inproc.Transport{}, partitioned: map[int]bool{}, storageDown: map[int]bool{}}
	for i, g := range r.List {
		n.names = append(n.names, g.Name)
		row := make([]time.Duration, len(r.List))
		for j := range r.List {
			row[j] = r.LatencyBetween(i, j)
		}
		n.latency = append(n.latency, row)
	}
	return n
}

// host is the in-process host name of a region's S3 endpoint.
func host(name string) string { return "s3." + name + ".stormsim" }

// reachable returns nil when a request from region a can reach region b's
// storage, or the error a client would see.
func (n *network) reachable(a, b int) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if a != b && (n.partitioned[a] || n.partitioned[b]) {
		return &net.OpError{Op: "dial", Net: "tcp", Err: fmt.Errorf("partition between %s and %s: %w", n.names[a], n.names[b],
			os.NewSyscallError("connect", syscall.ECONNREFUSED))}
	}
	return nil
}

func (n *network) isStorageDown(b int) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.storageDown[b]
}

func (n *network) set(kind string, region int, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch kind {
	case scenarios.RegionFaultPartition:
		n.partitioned[region] = on
	case scenarios.RegionFaultStorageDown:
		n.storageDown[region] = on
	}
}

// wait sleeps the one-way latency from a to b, or until ctx ends.
func (n *network) wait(ctx context.Context, a, b int) error {
	d := n.latency[a][b]
	if d <= 0 {
		return ctx.Err()
	}
	return syncx.Sleep(ctx, d)
}

// link is the RoundTripper of clients in region from talking to region to.
type link struct {
	n        *network
	from, to int
}

func (l link) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		defer func() {
			if req.Body != nil {
				req.Body.Close()
			}
		}()
	}
	ctx := req.Context()
	if err := l.n.wait(ctx, l.from, l.to); err != nil {
		return nil, err
	}
	if err := l.n.reachable(l.from, l.to); err != nil {
		return nil, err
	}
	if l.n.isStorageDown(l.to) {
		return unavailable(req, l.n.names[l.to]), nil
	}
	body := req.Body
	req.Body = nil // the inner transport owns it now
	req2 := req.Clone(ctx)
	req2.Body = body
	resp, err := l.n.mux.RoundTrip(req2)
	if err != nil {
		return nil, err
	}
	if err := l.n.wait(ctx, l.to, l.from); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// unavailable is S3's answer while a region's storage is down.
func unavailable(req *http.Request, region string) *http.Response {
	msg := "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>ServiceUnavailable</Code><Message>region " +
		region + " storage is down</Message></Error>"
	return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 Service Unavailable",
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Request: req,
		Header: http.Header{"Content-Type": {"application/xml"}}, ContentLength: int64(len(msg)),
		Body: io.NopCloser(strings.NewReader(msg))}
}

// client is an S3 client in region from for region to's storage.
func (n *network) client(from, to int) *s3.Client {
	hc := &http.Client{Transport: link{n: n, from: from, to: to}, Timeout: time.Minute}
	return s3.New(s3.Options{
		Region:                     n.names[to],
		Credentials:                credentials.NewStaticCredentialsProvider("stormsim", "stormsim", ""),
		BaseEndpoint:               aws.String("http://" + host(n.names[to])),
		UsePathStyle:               true,
		EndpointResolverV2:         s3endpoint.Cached(s3.NewDefaultEndpointResolverV2()),
		HTTPClient:                 hc,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2
			o.RateLimiter = ratelimit.None
		}),
	})
}
