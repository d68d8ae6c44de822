package objstore

import (
	"net/http"
	"strings"

	"github.com/johannesboyne/gofakes3"
)

// Server is the embedded S3 endpoint for backend b: gofakes3 with
// versioning off and its log discarded, behind a front that consumes a
// presigned request's query-string authentication (consumePresignQuery).
func Server(b gofakes3.Backend) http.Handler {
	return consumePresignQuery(gofakes3.New(b, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
}

// consumePresignQuery passes on a request whose query holds nothing but
// SigV4 query-string authentication (X-Amz-Algorithm, -Credential, -Date,
// -Expires, -SignedHeaders, -Signature, -Security-Token) and the SDK's
// operation hint x-id without that query, as S3 routes a presigned
// request once it has authenticated it. gofakes3 checks no signature;
// what it did with these parameters was parse them into a url.Values on
// every request to look for sub-resources (uploads, uploadId, versionId)
// that a presigned staging PUT never has: 14% of the fake's CPU for a
// device's PUT in a profile, 8 allocations (BENCHMARKS.md, "The device
// path against vegeta", where the CPU saved is within the noise). A
// query with anything else in it passes untouched.
func consumePresignQuery(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" || !onlyPresignAuth(r.URL.RawQuery) {
			h.ServeHTTP(w, r)
			return
		}
		r2 := *r
		u := *r.URL
		u.RawQuery = ""
		r2.URL = &u
		h.ServeHTTP(w, &r2)
	})
}

// onlyPresignAuth reports whether every parameter of the raw query q is
// one of a presigned URL's authentication parameters or x-id.
func onlyPresignAuth(q string) bool {
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
			"X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token", "x-id":
		default:
			return false
		}
	}
	return true
}
