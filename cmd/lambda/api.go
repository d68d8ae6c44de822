package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stormsim/stormsim/coordinator"
)

// Roles of the function (STORMSIM_ROLE).
const (
	roleCoordinator = "coordinator" // the default: S3 notifications
	roleResultAPI   = "result-api"  // the result API behind a function URL
)

// newAPI builds the result API (coordinator.API, GET /v1/uploads/{id}
// with per-user bearer tokens signed by STORMSIM_TOKEN_SECRET) from the
// same environment as the coordinator.
func newAPI(ctx context.Context, getenv func(string) string) (*handler, http.Handler, error) {
	secret := getenv("STORMSIM_TOKEN_SECRET")
	if len(secret) < 16 {
		return nil, nil, fmt.Errorf("STORMSIM_TOKEN_SECRET: want a secret of at least 16 bytes (it signs the users' bearer tokens)")
	}
	h, err := newHandler(ctx, getenv)
	if err != nil {
		return nil, nil, err
	}
	return h, h.coord.API(coordinator.Tokens{Secret: []byte(secret)}), nil
}

// functionURL serves h to Lambda function URL requests (payload format
// 2.0): the request rebuilt as net/http's, the response collected whole.
func functionURL(h http.Handler) func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	return func(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
		body := []byte(req.Body)
		if req.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(req.Body)
			if err != nil {
				return plain(http.StatusBadRequest, "body is not base64"), nil
			}
			body = b
		}
		target := req.RawPath
		if req.RawQueryString != "" {
			target += "?" + req.RawQueryString
		}
		r, err := http.NewRequestWithContext(ctx, req.RequestContext.HTTP.Method, target, bytes.NewReader(body))
		if err != nil {
			return plain(http.StatusBadRequest, "bad request"), nil
		}
		for k, v := range req.Headers {
			r.Header.Set(k, v)
		}
		r.Host = req.RequestContext.DomainName
		r.RemoteAddr = req.RequestContext.HTTP.SourceIP
		w := &collector{header: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(w, r)
		resp := events.LambdaFunctionURLResponse{StatusCode: w.code, Headers: map[string]string{}, Body: w.body.String()}
		for k, v := range w.header {
			resp.Headers[strings.ToLower(k)] = strings.Join(v, ",")
		}
		return resp, nil
	}
}

func plain(code int, msg string) events.LambdaFunctionURLResponse {
	return events.LambdaFunctionURLResponse{StatusCode: code, Headers: map[string]string{"content-type": "text/plain"}, Body: msg}
}

// collector is an http.ResponseWriter keeping the whole response.
type collector struct {
	header http.Header
	code   int
	body   bytes.Buffer
	wrote  bool
}

func (c *collector) Header() http.Header { return c.header }

func (c *collector) WriteHeader(code int) {
	if !c.wrote {
		c.code, c.wrote = code, true
	}
}

func (c *collector) Write(p []byte) (int, error) {
	c.wrote = true
	return c.body.Write(p)
}
