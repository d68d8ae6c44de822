package report

import (
	_ "embed"
	"math"
)

// The cost model turns counted operations into a pay-as-you-go estimate.
// Every quantity comes from the run; every assumption is a key of the price
// table (prices.yaml documents each), so an override file can change it:
//
//   - handler: one Lambda request per invocation (retries and duplicates
//     included); GB-seconds are the measured handler seconds times
//     lambda.memory_mb/1024, each invocation billed at least 1 ms. The
//     handler time is measured against the fakes on loopback, far below
//     what the same code takes against real S3 and ElastiCache: run against
//     real endpoints for a realistic compute figure.
//   - S3 requests by tier as the fake counted them, devices' presigned
//     uploads included. The harness's read-back after the drain (a GET per
//     touched file and conflicted copy, LISTs for leftovers) is counted
//     too, so tier 2 is a slight overestimate.
//   - storage: the bytes the run leaves stored, for s3.storage_months
//     months. Without a measured figure that is every byte uploaded (a
//     versioned bucket keeps every version; a loser is kept as a
//     conflicted copy), an upper bound. GB means 2^30 bytes, as AWS bills.
//   - Redis: redis.nodes nodes for the run's wall-clock duration (for a
//     scheduler run on a Redis store, its simulated duration).
//   - result polls: one API request and one short Lambda invocation each.
//   - scheduler: the handler per rule invocation; rule invocations, rule
//     updates (PutRule) and one-shot schedules at the timer prices.
//
// Not modelled: free tiers, volume tiers, data transfer, the push channel
// to devices, CloudWatch Logs, and the scheduler's table store unless it
// is Redis.

// minBilledSeconds is Lambda's billing granularity: 1 ms per invocation.
const minBilledSeconds = 0.001

// gib is the GB of S3's and Lambda's price sheets.
const gib = 1 << 30

// Usage is what a run counted, in the units of the price table.
type Usage struct {
	Uploads int64 // for the cost per 1,000 uploads
	Events  int64 // scheduler events, for the cost per 1,000 events

	Invocations    int64   // handler (Lambda) invocations, retries and duplicates included
	HandlerSeconds float64 // measured time inside the handler
	S3             map[string]int64
	StoredBytes    int64
	RedisSeconds   float64 // how long the Redis nodes run
	Polls          int64   // result API requests

	RuleInvocations      int64
	RuleUpdates          int64
	SchedulerInvocations int64
}

// Cost estimates what u costs at prices p. Items and Quantities use the
// same keys; an item is listed when its quantity is not zero.
func (p *Prices) Cost(u Usage) *Cost {
	c := &Cost{Currency: p.Currency, PricesAsOf: p.AsOf, PricesSource: p.Source,
		Items: map[string]float64{}, Quantities: map[string]float64{}}
	add := func(name string, qty, unitPrice float64) {
		if qty == 0 {
			return
		}
		c.Quantities[name] = qty
		c.Items[name] = qty * unitPrice
	}
	gb := p.Lambda.MemoryMB / 1024
	billed := math.Max(u.HandlerSeconds, float64(u.Invocations)*minBilledSeconds)
	add("lambda.requests", float64(u.Invocations), p.Lambda.RequestsPerMillion/1e6)
	add("lambda.gb_seconds", billed*gb, p.Lambda.GBSecond)

	var tier1, tier2, del int64
	for op, n := range u.S3 {
		switch s3Tier(op) {
		case 1:
			tier1 += n
		case 0:
			del += n
		default:
			tier2 += n
		}
	}
	add("s3.tier1_requests", float64(tier1), p.S3.Tier1Per1000/1000)
	add("s3.tier2_requests", float64(tier2), p.S3.Tier2Per1000/1000)
	add("s3.delete_requests", float64(del), p.S3.DeletePer1000/1000)
	add("s3.gb_months", float64(u.StoredBytes)/gib*p.S3.StorageMonths, p.S3.GBMonth)

	add("redis.node_hours", u.RedisSeconds/3600*p.Redis.Nodes, p.Redis.NodeHour)

	polls := float64(u.Polls)
	add("result_api.requests", polls, p.ResultAPI.RequestsPerMillion/1e6)
	add("result_api.lambda_requests", polls, p.Lambda.RequestsPerMillion/1e6)
	add("result_api.lambda_gb_seconds", polls*math.Max(p.ResultAPI.LambdaSecondsPerRequest, minBilledSeconds)*gb, p.Lambda.GBSecond)

	add("timer.rule_invocations", float64(u.RuleInvocations), p.Timer.RuleInvocationsPerMillion/1e6)
	add("timer.rule_updates", float64(u.RuleUpdates), p.Timer.RuleUpdatesPerMillion/1e6)
	add("timer.scheduler_invocations", float64(u.SchedulerInvocations), p.Timer.SchedulerInvocationsPerMillion/1e6)

	for _, k := range sortedKeys(c.Items) { // a fixed order keeps the sum reproducible
		c.Total += c.Items[k]
	}
	if u.Uploads > 0 {
		c.Per1000 = c.Total / float64(u.Uploads) * 1000
	}
	if u.Events > 0 {
		c.Per1000Events = c.Total / float64(u.Events) * 1000
	}
	return c
}

// s3Tier classifies an S3 operation name as sim counts them: 1 for
// PUT, COPY, POST and LIST requests (multipart steps are PUTs and POSTs),
// 0 for the free DELETE, 2 for GET, HEAD and everything else.
func s3Tier(op string) int {
	switch op {
	case "PUT", "COPY", "POST", "LIST", "CREATE_MULTIPART", "UPLOAD_PART", "COMPLETE_MULTIPART":
		return 1
	case "DELETE", "ABORT_MULTIPART":
		return 0
	}
	return 2
}

// BuildOption changes how Build and BuildScheduler make Results.
type BuildOption func(*buildConfig)

type buildConfig struct {
	prices  *Prices
	model   *Model
	regions *regionsPlan
}

// WithPrices prices the run with p instead of DefaultPrices().
func WithPrices(p *Prices) BuildOption {
	return func(c *buildConfig) {
		if p != nil {
			c.prices = p
		}
	}
}

func buildOptions(opts []BuildOption) buildConfig {
	c := buildConfig{}
	for _, o := range opts {
		o(&c)
	}
	if c.prices == nil {
		c.prices = defaultPrices()
	}
	return c
}
