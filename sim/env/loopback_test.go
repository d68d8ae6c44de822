package env

import (
	"strings"
	"testing"
)

// Every server the harness starts listens on loopback only.
func TestNewEmbedded_LoopbackOnly(t *testing.T) {
	env, err := NewEmbedded(EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if !strings.HasPrefix(env.S3URL, "http://127.0.0.1:") {
		t.Errorf("fake S3 at %s, want loopback", env.S3URL)
	}
	if !strings.HasPrefix(env.MR.Addr(), "127.0.0.1:") {
		t.Errorf("miniredis at %s, want loopback", env.MR.Addr())
	}
}
