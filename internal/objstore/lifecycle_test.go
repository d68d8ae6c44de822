package objstore

import (
	"slices"
	"testing"

	"github.com/johannesboyne/gofakes3"
)

func keys(t *testing.T, b *Backend, prefix string) []string {
	t.Helper()
	p := gofakes3.Prefix{HasPrefix: true, Prefix: prefix}
	l, err := b.ListBucket("b", &p, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range l.Contents {
		out = append(out, c.Key)
	}
	return out
}

func TestBackend_Lifecycle_KeepsNewest(t *testing.T) {
	for _, tc := range []struct {
		name   string
		keep   int
		puts   []string
		want   []string
		pruned int64
	}{
		{name: "unbounded", keep: 0,
			puts: []string{"v/u/p/1", "v/u/p/2", "v/u/p/3"},
			want: []string{"v/u/p/1", "v/u/p/2", "v/u/p/3"}},
		{name: "keep two", keep: 2,
			puts: []string{"v/u/p/1", "v/u/p/2", "v/u/p/3", "v/u/p/10"},
			want: []string{"v/u/p/10", "v/u/p/3"}, pruned: 2},
		{name: "late copy of an old version is pruned at once", keep: 1,
			puts: []string{"v/u/p/1", "v/u/p/2", "v/u/p/1"},
			want: []string{"v/u/p/2"}, pruned: 2},
		{name: "files are bounded separately", keep: 1,
			puts: []string{"v/u/p/1", "v/u/q/1", "v/u/p/2", "v/u/q/2"},
			want: []string{"v/u/p/2", "v/u/q/2"}, pruned: 2},
		{name: "non-numeric and deeper keys are left alone", keep: 1,
			puts: []string{"v/u/p/1", "v/u/p/x", "v/u/p/2", "v/u/p/3/4", "v/u/p/-5"},
			want: []string{"v/u/p/-5", "v/u/p/2", "v/u/p/3/4", "v/u/p/x"}, pruned: 1},
		{name: "keys outside the prefix are left alone", keep: 1,
			puts: []string{"w/u/p/1", "w/u/p/2"},
			want: []string{"w/u/p/1", "w/u/p/2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newTestBackend(t, Lifecycle{Prefix: "v/", Keep: tc.keep})
			for _, k := range tc.puts {
				put(t, b, k, k)
			}
			got := append(keys(t, b, "v/"), keys(t, b, "w/")...)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("kept %q, want %q", got, tc.want)
			}
			if s := b.Stats(); s.Pruned != tc.pruned || s.Objects != int64(len(tc.want)) {
				t.Fatalf("stats %+v, want pruned %d and %d objects", s, tc.pruned, len(tc.want))
			}
		})
	}
}

// A copy into versions/ is bounded like a put, and pruning a version
// releases only that reference: the final copy still reads.
func TestBackend_Lifecycle_CopyReleases(t *testing.T) {
	b := newTestBackend(t, Lifecycle{Prefix: "versions/", Keep: 1})
	for _, v := range []string{"1", "2"} {
		put(t, b, "staging/"+v, "content "+v)
		for _, dst := range []string{"versions/u/p/" + v, "files/u/p"} {
			if _, err := b.CopyObject("b", "staging/"+v, "b", dst, nil); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.DeleteObject("b", "staging/"+v); err != nil {
			t.Fatal(err)
		}
	}
	if got := read(t, b, "files/u/p"); got != "content 2" {
		t.Fatalf("final = %q", got)
	}
	if got, want := b.Stats(), (Stats{Objects: 2, Blobs: 1, LogicalBytes: 18, StoredBytes: 9, Pruned: 1}); got != want {
		t.Fatalf("stats %+v, want %+v", got, want)
	}
}
