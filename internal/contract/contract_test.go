package contract

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stormsim/stormsim/internal/jsonschema"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/sim/history"
)

var update = flag.Bool("update", false, "rewrite docs/schema/*.schema.json from the Go types")

const schemaDir = "../../docs/schema"

// The published schemas are what the types generate.
func TestSchema_Files_Golden(t *testing.T) {
	tests := []struct {
		file  string
		build func() (*jsonschema.Schema, error)
	}{
		{"results.schema.json", ResultsSchema},
		{"history.schema.json", HistorySchema},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := tt.build()
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			got, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join(schemaDir, tt.file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test ./internal/contract -run Schema -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from what the Go types generate; rerun with -update and review the diff", path)
			}
		})
	}
}

// Records names every kind history.Set decodes, so a new record type
// cannot be left out of the schema.
func TestSchema_Records_CoverHistorySet(t *testing.T) {
	listed := map[reflect.Type]bool{}
	for _, r := range Records {
		listed[r.Type] = true
	}
	set := reflect.TypeFor[history.Set]()
	n := 0
	for f := range set.Fields() {
		if f.Type.Kind() != reflect.Slice {
			continue
		}
		n++
		if !listed[f.Type.Elem()] {
			t.Errorf("history.Set.%s holds %s, which contract.Records does not list", f.Name, f.Type.Elem())
		}
	}
	if n != len(Records) {
		t.Errorf("history.Set decodes %d kinds, contract.Records lists %d", n, len(Records))
	}
}

// Each record's "t" is its kind, and nothing else is.
func TestSchema_History_KindDecides(t *testing.T) {
	s, err := HistorySchema()
	if err != nil {
		t.Fatal(err)
	}
	v := &jsonschema.Validator{Root: s, Strict: true}
	tests := []struct {
		name, line string
		valid      bool
	}{
		{"leftover", `{"t":"leftover","kind":"lock","key":"k"}`, true},
		{"leftover bad kind", `{"t":"leftover","kind":"cache","key":"k"}`, false},
		{"leftover as copy", `{"t":"copy","kind":"lock","key":"k"}`, false},
		{"unknown kind", `{"t":"gossip","key":"k"}`, false},
		{"no kind", `{"kind":"lock","key":"k"}`, false},
		{"sched never fired", `{"t":"sched","id":"e1","due":"2026-01-01T00:00:00Z","fired":null,"runs":0}`, true},
		{"result not found", `{"t":"result","id":"a","user":"u","state":"","version":0,"found":false,"at":"2026-01-01T00:00:00Z","ttl_seconds":0}`, true},
		{"result pending", `{"t":"result","id":"a","user":"u","state":"pending","version":0,"found":true,"at":"2026-01-01T00:00:00Z","ttl_seconds":0}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := v.ValidateJSON([]byte(tt.line))
			if (len(errs) == 0) != tt.valid {
				t.Errorf("%s: errors %v, want valid=%v", tt.line, errs, tt.valid)
			}
		})
	}
}

// results.json files written before harness.delivery had json tags (Go
// field names as keys) still read back, as docs/contract.md promises.
func TestSchema_ReadResults_DeliveryKeysOldAndNew(t *testing.T) {
	tests := []struct {
		name, delivery string
	}{
		{"go field names", `{"Emitted": 7, "Invocations": 9, "Dead": 1}`},
		{"snake_case", `{"emitted": 7, "invocations": 9, "dead": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "results.json")
			doc := `{"verdict": "pass", "harness": {"delivery": ` + tt.delivery + `}}`
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := report.ReadResults(path)
			if err != nil {
				t.Fatal(err)
			}
			if d := r.Harness.Delivery; d.Emitted != 7 || d.Invocations != 9 || d.Dead != 1 {
				t.Errorf("delivery %+v, want emitted 7, invocations 9, dead 1", d)
			}
		})
	}
}
