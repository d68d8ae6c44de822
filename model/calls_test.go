package model

import (
	"bytes"
	"context"
	"reflect"
	"slices"
	"testing"
)

// The recorded sequences are the coordinator's: this test states what
// they are today, so a change to the handler shows up here as a diff to
// review (and the model follows it without an edit).
func TestRecord_Embedded_Sequences(t *testing.T) {
	s, err := RecordEmbedded(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Call{
		SeqCommit:   {"redis.script.commit", "s3.copy", "s3.copy", "redis.script.result", "s3.delete"},
		SeqConflict: {"redis.script.copy-name", "s3.copy", "redis.script.result", "s3.delete"},
		SeqDone:     {"s3.delete"},
	}
	if !slices.Equal(s.Prefix, []Call{"s3.get"}) {
		t.Errorf("prefix = %v", s.Prefix)
	}
	for k, w := range want {
		if !slices.Equal(s.Tails[k], w) {
			t.Errorf("tail %s = %v, want %v", k, s.Tails[k], w)
		}
	}
	if !slices.Equal(s.Gone, []Call{"s3.get"}) {
		t.Errorf("gone = %v", s.Gone)
	}
	if s.Release[SeqCommit] != 3 || s.Release[SeqConflict] != 2 || s.Release[SeqDone] != -1 {
		t.Errorf("release = %v", s.Release)
	}
}

// A calibrated profile written by WriteYAML reads back as it was.
func TestProfile_WriteYAML_RoundTrip(t *testing.T) {
	p, err := LoadProfile("embedded")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := p.WriteYAML(&buf); err != nil {
		t.Fatal(err)
	}
	q, err := ParseProfile("round-trip.yaml", buf.Bytes())
	if err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	if !reflect.DeepEqual(p, q) {
		t.Fatalf("read back differs:\n%+v\n%+v", p, q)
	}
}
