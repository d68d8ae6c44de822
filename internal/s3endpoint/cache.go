// Package s3endpoint remembers an S3 client's resolved endpoints.
//
// The AWS SDK resolves the endpoint of every S3 call twice (once to pick
// the auth scheme, once to set the URL) by evaluating the service's
// endpoint rules from scratch. For the harness's clients, which make
// hundreds of thousands of calls to one bucket, that was about 6% of a
// run's CPU (BENCHMARKS.md). The rules' answer depends on the bucket and
// the client's settings, never on the object key, so Cached resolves each
// distinct set of parameters once.
package s3endpoint

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// maxEntries bounds the cache (concurrent first calls may each add one
// more): past it, parameters not yet seen are resolved on every call, as
// without the cache. A run's clients see a handful of buckets.
const maxEntries = 256

// Cached returns a resolver that asks next once per distinct set of
// endpoint parameters, ignoring the object key, prefix and copy source
// (which the SDK's S3 rules do not read: TestCached_KeyIsNotAnInput), and
// hands each caller its own copy of the answer. Errors are not cached.
//
//	s3.New(s3.Options{..., EndpointResolverV2: s3endpoint.Cached(s3.NewDefaultEndpointResolverV2())})
func Cached(next s3.EndpointResolverV2) s3.EndpointResolverV2 {
	return &cache{next: next}
}

type cache struct {
	next    s3.EndpointResolverV2
	entries sync.Map // key -> *entry
	n       atomic.Int32
}

// entry is a resolved endpoint as the cache keeps it: never handed out,
// only copied (the SDK's auth resolver rewrites the auth options it is
// given, and smithy.Properties writes on its first read).
type entry struct {
	endpoint smithyendpoints.Endpoint // Properties zero: see props
	headers  http.Header
	props    map[any]any // every property, the auth options among them
	auth     []*smithyauth.Option
}

func (c *cache) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	k := keyOf(p)
	if e, ok := c.entries.Load(k); ok {
		return e.(*entry).copy(), nil
	}
	ep, err := c.next.ResolveEndpoint(ctx, p)
	if err != nil {
		return ep, err
	}
	e := newEntry(ep)
	if c.n.Load() < maxEntries {
		if _, loaded := c.entries.LoadOrStore(k, e); !loaded {
			c.n.Add(1)
		}
	}
	return e.copy(), nil
}

func newEntry(ep smithyendpoints.Endpoint) *entry {
	e := &entry{endpoint: ep, headers: ep.Headers.Clone(), props: ep.Properties.Values()}
	e.endpoint.Headers, e.endpoint.Properties = nil, smithy.Properties{}
	if opts, ok := smithyauth.GetAuthOptions(&ep.Properties); ok {
		e.auth = cloneOptions(opts)
	}
	return e
}

// copy is the endpoint as next returned it, in maps and options of its
// own. The URI is a value; its Userinfo, if any, is immutable.
func (e *entry) copy() smithyendpoints.Endpoint {
	ep := e.endpoint
	ep.Headers = e.headers.Clone()
	for k, v := range e.props {
		ep.Properties.Set(k, v)
	}
	if e.auth != nil {
		smithyauth.SetAuthOptions(&ep.Properties, cloneOptions(e.auth))
	}
	return ep
}

func cloneOptions(opts []*smithyauth.Option) []*smithyauth.Option {
	out := make([]*smithyauth.Option, len(opts))
	for i, o := range opts {
		c := &smithyauth.Option{SchemeID: o.SchemeID}
		c.IdentityProperties.SetAll(&o.IdentityProperties)
		c.SignerProperties.SetAll(&o.SignerProperties)
		out[i] = c
	}
	return out
}

// opt is an optional parameter: unset differs from the zero value.
type opt[T comparable] struct {
	set bool
	v   T
}

func of[T comparable](p *T) opt[T] {
	if p == nil {
		return opt[T]{}
	}
	return opt[T]{true, *p}
}

// key is every field of s3.EndpointParameters but Key, Prefix and
// CopySource. TestKey_CoversEndpointParameters fails when an SDK update
// adds a field, so a new input cannot be silently left out of the key.
type key struct {
	bucket, region, endpoint                     opt[string]
	useFIPS, useDualStack, forcePathStyle        opt[bool]
	accelerate, useGlobalEndpoint                opt[bool]
	useObjectLambdaEndpoint, disableAccessPoints opt[bool]
	disableMultiRegionAccessPoints, useArnRegion opt[bool]
	useS3ExpressControlEndpoint                  opt[bool]
	disableS3ExpressSessionAuth                  opt[bool]
}

func keyOf(p s3.EndpointParameters) key {
	return key{
		bucket: of(p.Bucket), region: of(p.Region), endpoint: of(p.Endpoint),
		useFIPS: of(p.UseFIPS), useDualStack: of(p.UseDualStack), forcePathStyle: of(p.ForcePathStyle),
		accelerate: of(p.Accelerate), useGlobalEndpoint: of(p.UseGlobalEndpoint),
		useObjectLambdaEndpoint: of(p.UseObjectLambdaEndpoint), disableAccessPoints: of(p.DisableAccessPoints),
		disableMultiRegionAccessPoints: of(p.DisableMultiRegionAccessPoints), useArnRegion: of(p.UseArnRegion),
		useS3ExpressControlEndpoint: of(p.UseS3ExpressControlEndpoint),
		disableS3ExpressSessionAuth: of(p.DisableS3ExpressSessionAuth),
	}
}
