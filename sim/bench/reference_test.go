package bench

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/sim/env"
)

// The reference pipeline must really decide uploads through the
// coordinator (a loop that fails fast would measure nothing): every upload
// it finished has a committed result and no staged object left.
func TestReferencePipeline_Run_CommitsEveryUpload(t *testing.T) {
	e, err := env.NewEmbedded(env.EmbeddedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c, err := coordinator.New(coordinator.Config{Bucket: e.Bucket, Prefix: "ref:", Now: time.Now}, e.S3, e.Redis)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	n, err := referencePipeline(ctx, e, c, ReferenceOptions{Workers: 4, Duration: 2 * time.Second, Size: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("the pipeline finished %d uploads in 2s", n)
	}
	// Uploads 0..n-1 were started; the last few may have been cut off by
	// the deadline, the rest must be committed.
	committed := 0
	for i := range n {
		id := "ref-" + strconv.FormatInt(i, 10)
		res, ok, err := c.Result(ctx, "ref"+strconv.FormatInt(i%64, 10), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok && res.State == coordinator.StateCommitted && res.Version == 1 {
			committed++
		}
	}
	if committed < int(n)-4 {
		t.Errorf("%d of %d reference uploads committed (at most the 4 in flight at the deadline may not be)", committed, n)
	}
}

func TestMeasureReferences_Rates_Positive(t *testing.T) {
	ctx := context.Background()
	o := ReferenceOptions{Workers: 4, Duration: time.Second}
	for name, f := range map[string]func(context.Context, ReferenceOptions) (OpRate, error){
		"reference": MeasureReference, "vegeta": MeasureVegeta, "device": MeasureDevicePut,
	} {
		t.Run(name, func(t *testing.T) {
			r, err := f(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			if r.PerSec <= 0 || r.Samples <= 0 || r.Size != 1024 {
				t.Errorf("%s = %+v, want a positive rate at 1024 bytes", name, r)
			}
		})
	}
}
