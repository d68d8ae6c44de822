package syncx

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallel_EveryIndexOnce(t *testing.T) {
	var seen [100]atomic.Int32
	Parallel(context.Background(), len(seen), 7, func(i int) { seen[i].Add(1) })
	for i := range seen {
		if n := seen[i].Load(); n != 1 {
			t.Fatalf("index %d ran %d times", i, n)
		}
	}
}

func TestParallel_Cancelled_StopsHandingOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var n atomic.Int32
	Parallel(ctx, 10, 2, func(int) { n.Add(1) })
	if n.Load() != 0 {
		t.Fatalf("ran %d calls after cancel", n.Load())
	}
}

func TestSleep_Cancelled_Returns(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	Sleep(ctx, time.Hour) // returns at once, or the test times out
}

func TestServer_Close_WaitsAndReportsClean(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve(&http.Server{Handler: http.NotFoundHandler()}, ln)
	resp, err := http.Get("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v, want nil", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v, want nil", err)
	}
}

func TestServer_Close_ReportsServeError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // Serve fails at once: its listener is closed
	s := Serve(&http.Server{Handler: http.NotFoundHandler()}, ln)
	<-s.done // Serve has returned on its own (a Close first would stop it cleanly)
	if err := s.Close(); err == nil {
		t.Fatal("Close: nil, want Serve's error")
	}
}
