package objstore

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// BenchmarkCommit is the coordinator's storage work for one winning
// upload, on the backend alone: PUT the staged object (1 KiB), copy it to
// versions/ and to files/, delete it. Files repeat every 1,000 uploads, so
// versions/ grows unless a lifecycle bound applies. live-B/upload is the
// heap still in use after a GC, per upload: what a long run keeps.
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
					if _, err := be.CopyObject("b", staged, "b", dst, map[string]string{"X-Amz-Meta-Version": n}); err != nil {
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
