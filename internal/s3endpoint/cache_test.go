package s3endpoint

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	smithyauth "github.com/aws/smithy-go/auth"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// ignored are the parameters the key leaves out.
var ignored = map[string]bool{"Key": true, "Prefix": true, "CopySource": true}

// clients are the kinds of client the rules tell apart: the harness's
// path-style custom endpoint, AWS itself (virtual-hosted), FIPS and dual
// stack, with buckets plain, dotted, S3 Express and an access point ARN.
func cases() []s3.EndpointParameters {
	var out []s3.EndpointParameters
	for _, bucket := range []string{"stormsim", "my.bucket", "files--use1-az4--x-s3",
		"arn:aws:s3:us-east-1:123456789012:accesspoint/devices"} {
		for _, c := range []s3.EndpointParameters{
			{Region: aws.String("us-east-1"), Endpoint: aws.String("http://127.0.0.1:9000"), ForcePathStyle: aws.Bool(true)},
			{Region: aws.String("eu-west-1")},
			{Region: aws.String("us-east-1"), UseFIPS: aws.Bool(true)},
			{Region: aws.String("us-west-2"), UseDualStack: aws.Bool(true)},
		} {
			c.Bucket = aws.String(bucket)
			out = append(out, c)
		}
	}
	return out
}

// render is an endpoint as comparable text: URL, headers, and every
// property with the auth options spelled out.
func render(ep smithyendpoints.Endpoint, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	s := ep.URI.String() + fmt.Sprintf(" headers=%v", ep.Headers)
	opts, _ := smithyauth.GetAuthOptions(&ep.Properties)
	s += " props=" + properties(ep.Properties.Values())
	for _, o := range opts {
		s += fmt.Sprintf(" auth{%s identity=%s signer=%s}", o.SchemeID,
			properties(o.IdentityProperties.Values()), properties(o.SignerProperties.Values()))
	}
	return s
}

// properties lists a property set as sorted "key type=value", the auth
// options left to render.
func properties(values map[any]any) string {
	var out []string
	for k, v := range values {
		if _, isAuth := v.([]*smithyauth.Option); !isAuth {
			out = append(out, fmt.Sprintf("%T=%v", k, v))
		}
	}
	sort.Strings(out)
	return fmt.Sprint(out)
}

func withObject(p s3.EndpointParameters, key string) s3.EndpointParameters {
	p.Key, p.Prefix, p.CopySource = aws.String(key), aws.String(key), aws.String("stormsim/"+key)
	return p
}

// The cache rests on this: the SDK's own resolver gives the same answer
// whatever the key, prefix or copy source.
func TestCached_KeyIsNotAnInput(t *testing.T) {
	ctx := context.Background()
	sdk := s3.NewDefaultEndpointResolverV2()
	for _, p := range cases() {
		want := render(sdk.ResolveEndpoint(ctx, p))
		for _, k := range []string{"a", "staging/u1/f1/0001", "x--x-s3/../?%", ""} {
			if got := render(sdk.ResolveEndpoint(ctx, withObject(p, k))); got != want {
				t.Errorf("bucket %s: key %q resolves to\n%s\nwithout a key to\n%s", *p.Bucket, k, got, want)
			}
		}
	}
}

func TestCached_SameAsNext(t *testing.T) {
	ctx := context.Background()
	sdk := s3.NewDefaultEndpointResolverV2()
	c := Cached(sdk)
	for round := range 3 {
		for _, p := range cases() {
			p := withObject(p, fmt.Sprintf("k%d", round))
			if got, want := render(c.ResolveEndpoint(ctx, p)), render(sdk.ResolveEndpoint(ctx, p)); got != want {
				t.Errorf("round %d, bucket %s: cached\n%s\nSDK\n%s", round, *p.Bucket, got, want)
			}
		}
	}
}

// Every field of s3.EndpointParameters but the ignored ones is in the key:
// a field an SDK update adds fails here until the key holds it.
func TestKey_CoversEndpointParameters(t *testing.T) {
	typ := reflect.TypeOf(s3.EndpointParameters{})
	for i := range typ.NumField() {
		f := typ.Field(i)
		variants := map[string][]reflect.Value{
			"*string": {reflect.ValueOf(aws.String("a")), reflect.ValueOf(aws.String("b"))},
			"*bool":   {reflect.ValueOf(aws.Bool(false)), reflect.ValueOf(aws.Bool(true))},
		}[f.Type.String()]
		if variants == nil {
			t.Errorf("EndpointParameters.%s has type %s, which the key does not handle", f.Name, f.Type)
			continue
		}
		base := keyOf(s3.EndpointParameters{})
		for _, v := range variants {
			var p s3.EndpointParameters
			reflect.ValueOf(&p).Elem().Field(i).Set(v)
			if changed := keyOf(p) != base; changed == ignored[f.Name] {
				t.Errorf("EndpointParameters.%s = %v: key changed %v, want %v", f.Name, v.Elem(), changed, !ignored[f.Name])
			}
		}
		var a, b s3.EndpointParameters
		reflect.ValueOf(&a).Elem().Field(i).Set(variants[0])
		reflect.ValueOf(&b).Elem().Field(i).Set(variants[1])
		if !ignored[f.Name] && keyOf(a) == keyOf(b) {
			t.Errorf("EndpointParameters.%s: two values give one key", f.Name)
		}
	}
}

// The SDK's auth resolver rewrites the options it gets (rebaseProps) and
// the endpoint middleware copies headers out: what one call does to its
// answer must not reach the next.
func TestCached_CopiesAreIndependent(t *testing.T) {
	ctx := context.Background()
	c := Cached(s3.NewDefaultEndpointResolverV2())
	p := cases()[0]
	want := render(c.ResolveEndpoint(ctx, p))
	ep, _ := c.ResolveEndpoint(ctx, p)
	ep.URI.Path = "/elsewhere"
	if ep.Headers == nil {
		ep.Headers = map[string][]string{}
	}
	ep.Headers.Set("X-Changed", "1")
	ep.Properties.Set("changed", true)
	opts, ok := smithyauth.GetAuthOptions(&ep.Properties)
	if !ok || len(opts) == 0 {
		t.Fatalf("no auth options in %s", want)
	}
	opts[0].SchemeID = "changed"
	opts[0].SignerProperties.Set("changed", true)
	opts[0].IdentityProperties.Set("changed", true)
	if got := render(c.ResolveEndpoint(ctx, p)); got != want {
		t.Errorf("after a caller changed its copy:\n%s\nwant\n%s", got, want)
	}
}

// Under -race: callers on many goroutines share entries only by copying.
func TestCached_Concurrent(t *testing.T) {
	ctx := context.Background()
	c := Cached(s3.NewDefaultEndpointResolverV2())
	want := render(s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, cases()[0]))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				ep, err := c.ResolveEndpoint(ctx, withObject(cases()[0], fmt.Sprint(g, i)))
				if got := render(ep, err); got != want {
					t.Errorf("goroutine %d: %s", g, got)
					return
				}
				opts, _ := smithyauth.GetAuthOptions(&ep.Properties)
				for _, o := range opts {
					o.SignerProperties.Set("mine", g)
				}
			}
		})
	}
	wg.Wait()
}

type flaky struct {
	calls int
	fail  bool
}

func (f *flaky) ResolveEndpoint(ctx context.Context, p s3.EndpointParameters) (smithyendpoints.Endpoint, error) {
	f.calls++
	if f.fail {
		return smithyendpoints.Endpoint{}, errors.New("no endpoint")
	}
	return s3.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, p)
}

func TestCached_ErrorsAndBound(t *testing.T) {
	ctx := context.Background()
	f := &flaky{fail: true}
	c := Cached(f)
	p := cases()[0]
	if _, err := c.ResolveEndpoint(ctx, p); err == nil {
		t.Fatal("want the error of next")
	}
	f.fail = false
	if _, err := c.ResolveEndpoint(ctx, p); err != nil {
		t.Fatalf("an error was cached: %v", err)
	}
	c.ResolveEndpoint(ctx, withObject(p, "other"))
	if f.calls != 2 {
		t.Errorf("next called %d times, want 2 (one failure, then one resolution for both keys)", f.calls)
	}

	for i := range maxEntries + 10 {
		q := p
		q.Bucket = aws.String(fmt.Sprintf("bucket-%d", i))
		if _, err := c.ResolveEndpoint(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.(*cache).n.Load(); n != maxEntries {
		t.Errorf("%d entries, want the bound %d", n, maxEntries)
	}
	calls := f.calls
	q := p
	q.Bucket = aws.String(fmt.Sprintf("bucket-%d", maxEntries+5))
	c.ResolveEndpoint(ctx, q)
	if f.calls != calls+1 {
		t.Errorf("a bucket past the bound was not resolved afresh")
	}
}

// go test -bench . -benchmem ./internal/s3endpoint: the harness's client
// (path style, custom endpoint) resolving one object key after another.
func BenchmarkResolve(b *testing.B) {
	for _, bc := range []struct {
		name string
		r    s3.EndpointResolverV2
	}{{"sdk", s3.NewDefaultEndpointResolverV2()}, {"cached", Cached(s3.NewDefaultEndpointResolverV2())}} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			p := withObject(cases()[0], "staging/u1/f1/0001")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := bc.r.ResolveEndpoint(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
