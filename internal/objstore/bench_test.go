package objstore

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// BenchmarkCommit is the coordinator's storage work for one winning
// upload, on the backend alone: PUT the staged object (1 KiB), copy it to
// versions/ and to files/, delete it. Files repeat every 1,000 uploads, so
// versions/ grows unless a lifecycle bound applies. live-B/upload is the
// heap still in use after a GC, per upload: what a long run keeps. The
// copies carry the coordinator's six metadata entries (finalMeta).
func BenchmarkCommit(b *testing.B) {
	for _, bc := range []struct {
		name string
		new  func() gofakes3.Backend
	}{
		{"s3mem", func() gofakes3.Backend { return s3mem.New() }},
		{"objstore", func() gofakes3.Backend { return New(Options{}) }},
		{"objstore-keep2", func() gofakes3.Backend {
			return New(Options{Lifecycle: Lifecycle{Prefix: "versions/", Keep: 2}})
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := bytes.Repeat([]byte("x"), 1024)
			be := bc.new()
			if err := be.CreateBucket("b"); err != nil {
				b.Fatal(err)
			}
			var before runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				n := strconv.Itoa(i)
				file := "u/" + strconv.Itoa(i%1000)
				staged := "staging/u/" + n
				if _, err := be.PutObject("b", staged, map[string]string{"X-Amz-Meta-Sha256": n}, bytes.NewReader(body), int64(len(body)), nil); err != nil {
					b.Fatal(err)
				}
				for _, dst := range []string{"versions/" + file + "/" + n, "files/" + file} {
					if _, err := be.CopyObject("b", staged, "b", dst, finalMeta(n)); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := be.DeleteObject("b", staged); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			var after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "live-B/upload")
			runtime.KeepAlive(be)
		})
	}
}

// finalMeta is metadata shaped like the coordinator's on a committed
// version, each string its own allocation as gofakes3 hands them over.
func finalMeta(n string) map[string]string {
	return map[string]string{
		"X-Amz-Meta-Version": strings.Clone(n),
		"X-Amz-Meta-Upload":  "01JF" + n + "K9ZQ3W7V",
		"X-Amz-Meta-Sha256":  strings.Repeat("ab", 32),
		"X-Amz-Meta-Base":    strings.Clone(n),
		"X-Amz-Meta-Device":  "d" + n,
		"X-Amz-Meta-Path":    "docs%2Freport-" + n + ".txt",
	}
}
