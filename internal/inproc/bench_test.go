package inproc

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkTransport_RoundTrip is one staging-PUT-sized exchange through
// the transport: a 1 KiB request body read by the handler, a short
// response body read by the client. allocs/op counts the request built
// here, the transport's and the handler's allocations.
func BenchmarkTransport_RoundTrip(b *testing.B) {
	tr := &Transport{}
	defer tr.Close()
	tr.Handle("s3.test:1", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"0123456789abcdef"`)
		_, _ = w.Write([]byte("ok"))
	}))
	payload := bytes.Repeat([]byte("x"), 1024)
	rd := bytes.NewReader(payload)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(payload)
		req, err := http.NewRequest(http.MethodPut, "http://s3.test:1/bucket/staging/u/1", rd)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}

// BenchmarkPipe_Command is one Redis-sized command and reply over Pipe,
// with the deadlines go-redis sets around every command.
func BenchmarkPipe_Command(b *testing.B) {
	client, server := Pipe()
	defer client.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64)
		for {
			n, err := server.Read(buf)
			if err != nil {
				return
			}
			if _, err := server.Write(buf[:n]); err != nil {
				return
			}
		}
	}()
	cmd := []byte("*3\r\n$3\r\nGET\r\n$8\r\nlock:u/p\r\n")
	reply := make([]byte, len(cmd))
	b.ReportAllocs()
	for b.Loop() {
		_ = client.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := client.Write(cmd); err != nil {
			b.Fatal(err)
		}
		_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(client, reply); err != nil {
			b.Fatal(err)
		}
	}
	_ = server.Close()
	<-done
}

// BenchmarkTransport_RoundTripInline is the same exchange served inline
// (Route.Inline): in the caller's goroutine, the reply buffered.
func BenchmarkTransport_RoundTripInline(b *testing.B) {
	tr := &Transport{}
	defer tr.Close()
	tr.Route("s3.test:1", Route{Inline: true, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("ETag", `"0123456789abcdef"`)
		_, _ = w.Write([]byte("ok"))
	})})
	payload := bytes.Repeat([]byte("x"), 1024)
	rd := bytes.NewReader(payload)
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(payload)
		req, err := http.NewRequest(http.MethodPut, "http://s3.test:1/bucket/staging/u/1", rd)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
	}
}
