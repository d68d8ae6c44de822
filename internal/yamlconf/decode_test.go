package yamlconf

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// testConf is a small configuration with a section, a list and a duration.
type testConf struct {
	Name    string        `yaml:"name"`
	Count   int           `yaml:"count"`
	Ratio   float64       `yaml:"ratio"`
	Wait    time.Duration `yaml:"wait"`
	On      bool          `yaml:"on"`
	Section struct {
		Size int64 `yaml:"size"`
	} `yaml:"section"`
	Items []string `yaml:"items"`
}

var errTest = errors.New("invalid test file")

func decodeTest(t *testing.T, data string) (*testConf, *Decoder, error) {
	t.Helper()
	c := &testConf{Count: 7}
	root, err := Document("t.yaml", []byte(data), 1<<10, errTest)
	if err != nil {
		return nil, nil, err
	}
	d := NewDecoder("t.yaml", errTest, nil)
	d.Decode(root, c, "the file")
	return c, d, d.Errs.Err()
}

func TestDecoder_Decode_Errors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown field near a known one", "nmae: x\n", `t.yaml:1: nmae: unknown field (did you mean "name"?)`},
		{"unknown field of a small section", "section:\n  zzz: 1\n", "t.yaml:2: section.zzz: unknown field (known: size)"},
		{"duplicate", "count: 1\ncount: 2\n", "t.yaml:2: count: duplicate field (first set at line 1)"},
		{"wrong type", "count: many\n", `t.yaml:1: count: must be an integer, got "many"`},
		{"fraction for an integer", "count: 2.5\n", "t.yaml:1: count: must be an integer, got 2.5"},
		{"string for a number", "ratio: \"0.5\"\n", `t.yaml:1: ratio: must be a number, got "0.5"`},
		{"infinite", "ratio: .inf\n", "t.yaml:1: ratio: must be a finite number, got .inf"},
		{"bad duration", "wait: soon\n", `t.yaml:1: wait: must be a duration like "200ms" or "1m", got "soon"`},
		{"number for a string", "name: 12\n", "t.yaml:1: name: must be a string, got 12"},
		{"scalar for a section", "section: 5\n", "t.yaml:1: section: must be a mapping, got 5"},
		{"scalar for a list", "items: x\n", `t.yaml:1: items: must be a list, got "x"`},
		{"not a mapping", "- 1\n", "t.yaml:1: the file must be a mapping, got a list"},
		{"two documents", "name: a\n---\nname: b\n", "t.yaml:2: only one YAML document allowed"},
		{"syntax", "name: [\n", "t.yaml:"},
		{"too large", strings.Repeat("#", 2000), "t.yaml: file too large"},
		{"missing value", "count:\n", "t.yaml:1: count: missing value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := decodeTest(t, tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) || !errors.Is(err, errTest) {
				t.Errorf("%v does not wrap ErrInvalid and the caller's kind", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("%v is not a FieldError", err)
			}
		})
	}
}

func TestDecoder_Decode_OverDefaults(t *testing.T) {
	c, d, err := decodeTest(t, "name: a\nratio: 0.25\nwait: 1m30s\non: yes\nsection: {size: 4096}\nitems: [x, y]\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "a" || c.Count != 7 || c.Ratio != 0.25 || c.Wait != 90*time.Second || !c.On || c.Section.Size != 4096 || len(c.Items) != 2 {
		t.Errorf("decoded %+v", c)
	}
	if d.Lines["section.size"] != 5 || d.Lines["items[1]"] != 6 || d.Line("section.size.x") != 5 || d.Line("count") != 0 {
		t.Errorf("lines %v", d.Lines)
	}
	if d.Raw["ratio"] != "0.25" {
		t.Errorf("raw %v", d.Raw)
	}
}

func TestErrorList_Err_SortedByLine(t *testing.T) {
	l := ErrorList{{File: "f", Line: 9, Msg: "b"}, {File: "f", Line: 2, Msg: "a"}}
	if got := l.Err().Error(); got != "f:2: a\nf:9: b" {
		t.Errorf("got %q", got)
	}
	if (ErrorList{}).Err() != nil {
		t.Error("an empty list is an error")
	}
}
