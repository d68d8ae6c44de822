package inproc

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/net/nettest"
)

// The conformance suite for net.Conn implementations: basic I/O, ping-pong,
// racy reads and writes, present/past/future deadlines, close semantics.
func TestPipe_Conn_Conformance(t *testing.T) {
	nettest.TestConn(t, func() (net.Conn, net.Conn, func(), error) {
		a, b := Pipe()
		return a, b, func() { a.Close(); b.Close() }, nil
	})
}

// A client writing a long pipeline while the server answers each command
// as it reads it: with net.Pipe (no buffer) both would wait for each
// other; here, as over TCP, the buffer absorbs the replies.
func TestPipe_Write_PipelineDoesNotDeadlock(t *testing.T) {
	client, server := Pipe()
	defer client.Close()
	defer server.Close()
	const cmds = 20000
	cmd := bytes.Repeat([]byte("x"), 64)
	go func() {
		// The server: read a command, answer it at once, 64 bytes each.
		buf := make([]byte, len(cmd))
		for range cmds {
			if _, err := io.ReadFull(server, buf); err != nil {
				return
			}
			if _, err := server.Write(buf); err != nil {
				return
			}
		}
	}()
	all := bytes.Repeat(cmd, cmds) // 1.3 MB, in one write
	if _, err := client.Write(all); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(all))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatal(err)
	}
}

func TestPipe_Close_Semantics(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, a, b net.Conn)
	}{
		{"peer reads what was written, then EOF", func(t *testing.T, a, b net.Conn) {
			_, _ = a.Write([]byte("bye"))
			a.Close()
			got, err := io.ReadAll(b)
			if err != nil || string(got) != "bye" {
				t.Errorf("ReadAll = %q, %v; want bye, nil", got, err)
			}
		}},
		{"writes to a closed peer are discarded, the next read is EOF", func(t *testing.T, a, b net.Conn) {
			b.Close()
			if _, err := a.Write([]byte("x")); err != nil {
				t.Errorf("Write = %v, want nil (as TCP after the peer's FIN)", err)
			}
			if _, err := a.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
				t.Errorf("Read = %v, want io.EOF", err)
			}
		}},
		{"own end closed", func(t *testing.T, a, b net.Conn) {
			a.Close()
			if _, err := a.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("Read = %v, want net.ErrClosed", err)
			}
		}},
		{"a blocked writer is released by the peer's close", func(t *testing.T, a, b net.Conn) {
			done := make(chan error, 1)
			go func() {
				_, err := a.Write(make([]byte, PipeBuffer+1)) // one byte more than fits
				done <- err
			}()
			b.Close()
			if err := <-done; err != nil {
				t.Errorf("Write = %v, want nil (the rest discarded)", err)
			}
		}},
		{"read deadline", func(t *testing.T, a, b net.Conn) {
			_ = a.SetReadDeadline(time.Now().Add(-time.Second))
			if _, err := a.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Read = %v, want os.ErrDeadlineExceeded", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := Pipe()
			defer a.Close()
			defer b.Close()
			tt.run(t, a, b)
		})
	}
}
