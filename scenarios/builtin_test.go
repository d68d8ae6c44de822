package scenarios

import (
	"os"
	"testing"
)

func TestBuiltin_AllLoad(t *testing.T) {
	names := BuiltinNames()
	if len(names) < 8 {
		t.Fatalf("BuiltinNames() = %v, want at least 8", names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, ok := Builtin(name)
			if !ok {
				t.Fatalf("Builtin(%q) not found", name)
			}
			sc, err := Parse(name+".yaml", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if sc.Name != name {
				t.Errorf("name = %q, want %q", sc.Name, name)
			}
			if sc.Description == "" {
				t.Errorf("no description")
			}
			if len(sc.ParsedGates) != len(sc.Gates) {
				t.Errorf("parsed %d gates of %d", len(sc.ParsedGates), len(sc.Gates))
			}
		})
	}
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

// The opt-in long runs are not embedded, but they must stay valid.
func TestLongScenarios_Load(t *testing.T) {
	for _, name := range []string{"long/soak.yaml", "long/million.yaml", "long/million-1000.yaml"} {
		t.Run(name, func(t *testing.T) {
			if _, err := Load(name); err != nil {
				t.Fatal(err)
			}
		})
	}
}
