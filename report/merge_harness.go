package report

import (
	"fmt"
	"math"
)

// mergeHarness adds up the shards' harness figures. Shards are separate
// processes, each with its own harness (and embedded fakes), so:
//   - counts of work add: CPU seconds, history lines, stored bytes, Redis
//     and S3 calls (and S3 calls by operation), event deliveries;
//   - per-process peaks are maxima, never sums: max RSS, max goroutines,
//     the harness's heap peak, CPU utilisation (each shard's share of the
//     machine it ran on) and the end heaps (one process's footprint);
//   - per-upload ratios are recomputed over the merged uploads;
//   - saturation: the merged run was bound if any shard was, with every
//     bound shard's reasons named; its lag figures are the worst shard's,
//     the one whose lag could have moved a merged gate the most.
func mergeHarness(shards []*Results, uploads int64) *Harness {
	h := &Harness{}
	var worst *Saturation
	var reasons []string
	for i, s := range shards {
		x := s.Harness
		if x == nil {
			continue
		}
		// Sums.
		h.CPUSeconds += x.CPUSeconds
		h.HistoryLines += x.HistoryLines
		h.StoredBytes += x.StoredBytes
		h.RedisCalls += x.RedisCalls
		h.S3Calls += x.S3Calls
		for k, v := range x.S3Ops {
			if h.S3Ops == nil {
				h.S3Ops = map[string]int64{}
			}
			h.S3Ops[k] += v
		}
		d := &h.Delivery
		d.Emitted += x.Delivery.Emitted
		d.Duplicated += x.Delivery.Duplicated
		d.Reordered += x.Delivery.Reordered
		d.Dropped += x.Delivery.Dropped
		d.Invocations += x.Delivery.Invocations
		d.Failures += x.Delivery.Failures
		d.Retries += x.Delivery.Retries
		d.Dead += x.Delivery.Dead
		// Maxima.
		h.MaxRSSBytes = max(h.MaxRSSBytes, x.MaxRSSBytes)
		h.Goroutines = max(h.Goroutines, x.Goroutines)
		h.HeapHarnessMaxBytes = max(h.HeapHarnessMaxBytes, x.HeapHarnessMaxBytes)
		h.HeapHarnessEndBytes = max(h.HeapHarnessEndBytes, x.HeapHarnessEndBytes)
		h.HeapFakesEndBytes = max(h.HeapFakesEndBytes, x.HeapFakesEndBytes)
		h.CPUUtilization = math.Max(h.CPUUtilization, x.CPUUtilization)
		if sat := x.Saturation; sat != nil {
			for _, why := range sat.Reasons {
				reasons = append(reasons, fmt.Sprintf("shard %d: %s", i, why))
			}
			if worst == nil || sat.Bound && !worst.Bound || sat.Bound == worst.Bound && sat.Lag.P99 > worst.Lag.P99 {
				worst = sat
			}
		}
	}
	if worst != nil {
		sat := *worst
		sat.Bound = len(reasons) > 0
		sat.Reasons = append([]string{}, reasons...)
		h.Saturation = &sat
	}
	if uploads > 0 {
		h.RedisCallsPerUpload = float64(h.RedisCalls) / float64(uploads)
		h.S3CallsPerUpload = float64(h.S3Calls) / float64(uploads)
	}
	return h
}

// mergeErrors adds up the shards' error counts by kind and by cause.
func mergeErrors(r *Results, shards []*Results) {
	for _, s := range shards {
		for k, v := range s.Errors {
			if r.Errors == nil {
				r.Errors = map[string]int64{}
			}
			r.Errors[k] += v
		}
		for k, by := range s.ErrorCauses {
			if r.ErrorCauses == nil {
				r.ErrorCauses = map[string]map[string]int64{}
			}
			if r.ErrorCauses[k] == nil {
				r.ErrorCauses[k] = map[string]int64{}
			}
			for c, v := range by {
				r.ErrorCauses[k][c] += v
			}
		}
	}
}

// mergeCost adds up the shards' cost estimates: every item is a count of
// paid operations or resource time of that shard (Redis node-hours too:
// each shard ran its own), so they add. Nil when a shard has none, as a
// sum missing a shard would understate the run.
func mergeCost(shards []*Results, uploads int64) *Cost {
	if len(shards) == 0 {
		return nil
	}
	out := &Cost{Items: map[string]float64{}}
	for _, s := range shards {
		c := s.Cost
		if c == nil {
			return nil
		}
		out.Currency, out.PricesAsOf, out.PricesSource = c.Currency, c.PricesAsOf, c.PricesSource
		for k, v := range c.Items {
			out.Items[k] += v
		}
		for k, v := range c.Quantities {
			if out.Quantities == nil {
				out.Quantities = map[string]float64{}
			}
			out.Quantities[k] += v
		}
	}
	for _, k := range sortedKeys(out.Items) { // a fixed order keeps the sum reproducible
		out.Total += out.Items[k]
	}
	if uploads > 0 {
		out.Per1000 = out.Total / float64(uploads) * 1000
	}
	return out
}
