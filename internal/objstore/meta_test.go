package objstore

import (
	"bytes"
	"maps"
	"testing"
)

func TestPackedMeta_RoundTrip(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{"X-Amz-Meta-Empty": ""},
		{"X-Amz-Meta-Path": "a%2Fb c", "X-Amz-Meta-Version": "7", "X-Amz-Meta-Sha256": "ab12", "Content-Type": "text/plain"},
	} {
		got := pack(m).unpack()
		if len(m) == 0 && len(got) == 0 {
			continue
		}
		if !maps.Equal(got, m) {
			t.Errorf("pack(%v).unpack() = %v", m, got)
		}
	}
}

// A caller that changes the metadata it got, or the map it stored, does
// not change the stored object.
func TestBackend_HeadObject_MetadataIsACopy(t *testing.T) {
	b := New(Options{})
	if err := b.CreateBucket("b"); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{"X-Amz-Meta-Version": "1"}
	if _, err := b.PutObject("b", "k", meta, bytes.NewReader([]byte("x")), 1, nil); err != nil {
		t.Fatal(err)
	}
	meta["X-Amz-Meta-Version"] = "changed by the caller"
	o, err := b.HeadObject("b", "k")
	if err != nil {
		t.Fatal(err)
	}
	o.Metadata["X-Amz-Meta-Version"] = "changed by a reader"
	o, err = b.HeadObject("b", "k")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Metadata["X-Amz-Meta-Version"]; got != "1" {
		t.Errorf("stored metadata changed to %q", got)
	}
}
