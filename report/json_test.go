package report

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteJSON_Fixture_RoundTrip(t *testing.T) {
	want := fixture(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, want); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "{\n  \"verdict\": \"fail\"") {
		t.Errorf("not indented or verdict not first:\n%.80s", buf.String())
	}
	path := filepath.Join(t.TempDir(), "results.json")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResults(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Error("results changed in a write/read round trip")
	}
}

func TestReadResults_Errors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\"verdict\": "), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, path string }{
		{"missing", filepath.Join(dir, "none.json")},
		{"truncated", bad},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadResults(tt.path); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestReadResults_OlderFile_WaitUnknown: a results.json written before
// run_queue_wait_share existed reads it as unknown (-1), not as a measured
// 0; a file that has it, 0 included, keeps it.
func TestReadResults_OlderFile_WaitUnknown(t *testing.T) {
	tests := []struct {
		name, saturation string
		want             float64
	}{
		{"older file", `{"cpus": 2, "process_cpu_share": 0.5}`, -1},
		{"measured zero", `{"cpus": 2, "run_queue_wait_share": 0}`, 0},
		{"measured", `{"cpus": 2, "run_queue_wait_share": 0.52}`, 0.52},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.json")
			doc := `{"verdict": "pass", "harness": {"saturation": ` + tt.saturation + `}}`
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := ReadResults(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Harness.Saturation.RunQueueWaitShare; got != tt.want {
				t.Errorf("run_queue_wait_share %v, want %v", got, tt.want)
			}
		})
	}
}
