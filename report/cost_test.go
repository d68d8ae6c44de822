package report

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gopkg.in/yaml.v3"

	"github.com/stormsim/stormsim/internal/yamlconf"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim"
	"github.com/stormsim/stormsim/sim/delivery"
	"github.com/stormsim/stormsim/sim/env"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/measure"
	"github.com/stormsim/stormsim/sim/schedsim"
)

// fixedPrices has round numbers so that expected costs can be worked out
// by hand: 1 GB of Lambda memory, $0.001 per tier-1 request, and so on.
func fixedPrices() *Prices {
	return &Prices{AsOf: "2026-01-01", Currency: "USD", Source: "test",
		Lambda:    LambdaPrices{MemoryMB: 1024, RequestsPerMillion: 1, GBSecond: 0.001},
		S3:        S3Prices{Tier1Per1000: 1, Tier2Per1000: 0.1, DeletePer1000: 0, GBMonth: 1, StorageMonths: 1},
		Redis:     RedisPrices{NodeType: "test.node", NodeHour: 3.6, Nodes: 1},
		ResultAPI: ResultAPIPrices{RequestsPerMillion: 1, LambdaSecondsPerRequest: 0.5},
		Timer:     TimerPrices{RuleInvocationsPerMillion: 1, RuleUpdatesPerMillion: 2, SchedulerInvocationsPerMillion: 3}}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestPrices_Cost(t *testing.T) {
	tests := []struct {
		name      string
		prices    func(*Prices)
		usage     Usage
		items     map[string]float64
		total     float64
		per1000   float64
		perEvents float64
	}{
		{
			name: "upload run",
			usage: Usage{Uploads: 1000, Invocations: 1000, HandlerSeconds: 2,
				S3:          map[string]int64{"PUT": 1000, "COPY": 1000, "GET": 500, "HEAD": 500, "DELETE": 1000},
				StoredBytes: 1 << 30, RedisSeconds: 3600},
			items: map[string]float64{
				"lambda.requests":    0.001, // 1000 x $1/M
				"lambda.gb_seconds":  0.002, // 2 s x 1 GB x $0.001
				"s3.tier1_requests":  2,     // 2000 x $0.001
				"s3.tier2_requests":  0.1,   // 1000 x $0.0001
				"s3.delete_requests": 0,     // free
				"s3.gb_months":       1,     // 1 GiB for one month
				"redis.node_hours":   3.6,   // one node for an hour
			},
			total: 6.703, per1000: 6.703,
		},
		{
			name:  "each invocation billed at least 1 ms",
			usage: Usage{Uploads: 10, Invocations: 1000, HandlerSeconds: 0.1},
			items: map[string]float64{"lambda.requests": 0.001, "lambda.gb_seconds": 0.001},
			total: 0.002, per1000: 0.2,
		},
		{
			name:   "memory and storage months scale",
			prices: func(p *Prices) { p.Lambda.MemoryMB = 512; p.S3.StorageMonths = 12; p.Redis.Nodes = 2 },
			usage:  Usage{Uploads: 1, HandlerSeconds: 10, StoredBytes: 1 << 29, RedisSeconds: 1800},
			items:  map[string]float64{"lambda.gb_seconds": 0.005, "s3.gb_months": 6, "redis.node_hours": 3.6},
			total:  9.605, per1000: 9605,
		},
		{
			name:  "multipart steps are tier 1, unknown operations tier 2",
			usage: Usage{Uploads: 1, S3: map[string]int64{"CREATE_MULTIPART": 1, "UPLOAD_PART": 3, "COMPLETE_MULTIPART": 1, "LIST": 5, "OPTIONS": 10}},
			items: map[string]float64{"s3.tier1_requests": 0.010, "s3.tier2_requests": 0.001},
			total: 0.011, per1000: 11,
		},
		{
			name:  "result polls: API request plus a short Lambda",
			usage: Usage{Uploads: 1000, Polls: 1_000_000},
			items: map[string]float64{"result_api.requests": 1, "result_api.lambda_requests": 1,
				"result_api.lambda_gb_seconds": 500}, // 1e6 x 0.5 s x 1 GB x $0.001
			total: 502, per1000: 502,
		},
		{
			name:  "scheduler timer",
			usage: Usage{Events: 500, Invocations: 1000, RuleInvocations: 1_000_000, RuleUpdates: 1_000_000, SchedulerInvocations: 1_000_000},
			items: map[string]float64{"lambda.requests": 0.001, "lambda.gb_seconds": 0.001,
				"timer.rule_invocations": 1, "timer.rule_updates": 2, "timer.scheduler_invocations": 3},
			total: 6.002, perEvents: 12.004,
		},
		{
			name:  "nothing counted",
			items: map[string]float64{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := fixedPrices()
			if tt.prices != nil {
				tt.prices(p)
			}
			c := p.Cost(tt.usage)
			if c.Currency != "USD" || c.PricesAsOf != "2026-01-01" || c.PricesSource != "test" {
				t.Errorf("currency %q, as of %q, source %q", c.Currency, c.PricesAsOf, c.PricesSource)
			}
			if len(c.Items) != len(tt.items) {
				t.Errorf("items %v, want %v", c.Items, tt.items)
			}
			for k, want := range tt.items {
				if got, ok := c.Items[k]; !ok || !near(got, want) {
					t.Errorf("item %s = %v (present %v), want %v", k, got, ok, want)
				}
				if _, ok := c.Quantities[k]; !ok {
					t.Errorf("item %s has no quantity", k)
				}
			}
			if !near(c.Total, tt.total) || !near(c.Per1000, tt.per1000) || !near(c.Per1000Events, tt.perEvents) {
				t.Errorf("total %v per 1000 uploads %v per 1000 events %v, want %v %v %v",
					c.Total, c.Per1000, c.Per1000Events, tt.total, tt.per1000, tt.perEvents)
			}
		})
	}
}

func TestDefaultPrices_EveryKeyDocumented(t *testing.T) {
	p := DefaultPrices()
	if p.Source != "built-in defaults" || p.Currency != "USD" || p.Region != "us-east-1" {
		t.Errorf("source %q currency %q region %q", p.Source, p.Currency, p.Region)
	}
	if _, err := time.Parse("2006-01-02", p.AsOf); err != nil {
		t.Errorf("as_of %q: %v", p.AsOf, err)
	}
	if p.Lambda.MemoryMB != 512 || p.Lambda.RequestsPerMillion != 0.20 || p.S3.Tier1Per1000 != 0.005 || p.S3.Tier2Per1000 != 0.0004 {
		t.Errorf("unexpected defaults: %+v", p)
	}
	// The embedded file sets every key the parser knows, so the table
	// documents each assumption instead of leaving it to Go zero values.
	var doc yaml.Node
	if err := yaml.Unmarshal(defaultPricesYAML, &doc); err != nil {
		t.Fatal(err)
	}
	var keys []string
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if v.Kind == yaml.MappingNode {
				walk(v, prefix+k+".")
			} else {
				keys = append(keys, prefix+k)
			}
		}
	}
	walk(doc.Content[0], "")
	want := priceKeys(reflect.TypeFor[Prices](), "")
	sort.Strings(keys)
	if strings.Join(keys, " ") != strings.Join(want, " ") {
		t.Errorf("prices.yaml keys\n  %v\nwant\n  %v", keys, want)
	}
	if DefaultPrices() == DefaultPrices() {
		t.Error("DefaultPrices returns a shared pointer; callers could change the defaults")
	}
}

// priceKeys lists the dotted YAML keys of a price table type.
func priceKeys(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("yaml")
		switch {
		case name == "-":
		case f.Type.Kind() == reflect.Struct:
			out = append(out, priceKeys(f.Type, prefix+name+".")...)
		default:
			out = append(out, prefix+name)
		}
	}
	sort.Strings(out)
	return out
}

func TestParsePrices_Errors(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"unknown field", "lambda:\n  memroy_mb: 256\n", `p.yaml:2: lambda.memroy_mb: unknown field (did you mean "memory_mb"?)`},
		{"unknown section", "currency: USD\nlamda:\n  memory_mb: 256\n", `p.yaml:2: lamda: unknown field (did you mean "lambda"?)`},
		{"unknown top-level value", "price: 3\n", "p.yaml:1: price: unknown field"},
		{"not a number", "s3:\n  gb_month: cheap\n", `p.yaml:2: s3.gb_month: must be a number, got "cheap"`},
		{"quoted number", "s3:\n  gb_month: \"0.02\"\n", `p.yaml:2: s3.gb_month: must be a number, got "0.02"`},
		{"negative", "redis:\n  node_hour: -1\n", "p.yaml:2: redis.node_hour: must be a finite number >= 0, got -1"},
		{"infinite", "redis:\n  node_hour: .inf\n", `p.yaml:2: redis.node_hour: must be a finite number, got .inf`},
		{"duplicate", "timer:\n  rule_updates_per_million: 1\n  rule_updates_per_million: 2\n", "timer.rule_updates_per_million"},
		{"section given a value", "s3: 5\n", "p.yaml:1: s3: must be a mapping, got 5"},
		{"list value", "lambda:\n  gb_second: [1, 2]\n", "p.yaml:2: lambda.gb_second: must be a number, got a list"},
		{"memory out of range", "lambda:\n  memory_mb: 64\n", "p.yaml:2: lambda.memory_mb: must be within 128..10240"},
		{"bad date", "as_of: last week\n", `p.yaml:1: as_of: want a date YYYY-MM-DD, got "last week"`},
		{"syntax", "lambda: [1,\n", "p.yaml:"},
		{"not a mapping", "- 1\n- 2\n", "p.yaml:1: the price table must be a mapping, got a list"},
		{"merge key of an unknown field", "lambda: &l {gb_second: 1}\ns3:\n  <<: *l\n", "p.yaml:1: s3.gb_second: unknown field"},
		{"second document", "as_of: \"2026-01-01\"\n---\nas_of: \"2026-01-02\"\n", "p.yaml:2: only one YAML document allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrices("p.yaml", []byte(tt.data), DefaultPrices())
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidPrices) || !errors.Is(err, yamlconf.ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalidPrices and yamlconf.ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n  %v\nwant it to contain\n  %s", err, tt.want)
			}
		})
	}
}

func TestLoadPrices_Override(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	data := "as_of: 2027-01-31\nlambda:\n  memory_mb: 1024\n  gb_second: 0.0000133334  # arm64\n"
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadPrices(path)
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultPrices()
	if p.Lambda.MemoryMB != 1024 || p.Lambda.GBSecond != 0.0000133334 || p.AsOf != "2027-01-31" || p.Source != path {
		t.Errorf("overrides not applied: %+v", p)
	}
	if p.S3.Tier1Per1000 != d.S3.Tier1Per1000 || p.Redis.NodeHour != d.Redis.NodeHour || p.Currency != d.Currency {
		t.Errorf("keys the file does not name changed: %+v", p)
	}
	if p, err := LoadPrices(""); err != nil || p.Source != "built-in defaults" {
		t.Errorf("LoadPrices(\"\") = %+v, %v", p, err)
	}
	if _, err := LoadPrices(filepath.Join(t.TempDir(), "none.yaml")); err == nil || errors.Is(err, ErrInvalidPrices) {
		t.Errorf("missing file: %v, want an os error", err)
	}
}

func TestBuild_Cost(t *testing.T) {
	sc, err := scenarios.Parse("c.yaml", []byte("name: c\nphases: [{kind: constant, rate: 10, duration: 1s}]\n"+
		"gates: [\"cost.per_1000_uploads <= 10\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	polls := hdrhistogram.New(0, 1000, 3)
	for range 100 {
		_ = polls.RecordValue(2)
	}
	res := &sim.Result{Scenario: "c", Elapsed: time.Hour, Window: time.Second, Planned: 100, PlannedRate: 100, Launched: 100,
		Measure:  measure.Snapshot{PollsHist: polls, Outcomes: map[history.Outcome]int64{history.OutcomeCommitted: 100}, Bytes: 1 << 30},
		Delivery: delivery.Counts{Invocations: 100}, HandlerSeconds: 1,
		Ops: env.OpCounts{S3: map[string]int64{"PUT": 200, "GET": 100}}}
	r := Build(res, sc, "", WithPrices(fixedPrices()))
	c := r.Cost
	if c == nil {
		t.Fatal("no cost")
	}
	want := map[string]float64{"lambda.requests": 100e-6, "lambda.gb_seconds": 0.001, "s3.tier1_requests": 0.2,
		"s3.tier2_requests": 0.01, "s3.gb_months": 1, "redis.node_hours": 3.6,
		"result_api.requests": 200e-6, "result_api.lambda_requests": 200e-6, "result_api.lambda_gb_seconds": 0.1}
	for k, v := range want {
		if !near(c.Items[k], v) {
			t.Errorf("%s = %v, want %v", k, c.Items[k], v)
		}
	}
	if len(c.Items) != len(want) {
		t.Errorf("items %v", c.Items)
	}
	if !near(c.Per1000, c.Total*10) {
		t.Errorf("per 1000 %v, total %v for 100 uploads", c.Per1000, c.Total)
	}
	if len(r.Gates) != 1 || r.Gates[0].OK || r.Gates[0].NoData || !near(r.Gates[0].Value, c.Per1000) {
		t.Errorf("gate over the cost: %+v (per 1000 %v)", r.Gates, c.Per1000)
	}
	if d := Build(res, sc, ""); d.Cost == nil || d.Cost.PricesSource != "built-in defaults" {
		t.Errorf("Build without prices: %+v", d.Cost)
	}
}

func TestBuildScheduler_CostAndLatenessCounts(t *testing.T) {
	sc, err := scenarios.Parse("s.yaml", []byte("name: s\nscheduler: {strategy: self-rescheduling, days: 1, events: 10, store: redis, handler_time_per_event: 100ms}\n"))
	if err != nil {
		t.Fatal(err)
	}
	h := hdrhistogram.New(1, int64(time.Hour/time.Microsecond), 3)
	for _, s := range []float64{0.5, 4, 6, 29, 59, 59.9} {
		_ = h.RecordValue(int64(s * 1e6))
	}
	res := &sim.SchedulerResult{Sched: schedsim.Result{Strategy: "self", Strategies: []schedsim.StrategyResult{
		{Strategy: schedsim.StrategySelf, Events: 6, Runs: 6, Invocations: 4, RuleUpdates: 4, TheoryMeanSeconds: 30,
			SimulatedSeconds: 7200, Histogram: h},
		{Strategy: schedsim.StrategyOneShot, Events: 6, Runs: 6, Invocations: 6, RuleUpdates: 6},
	}}}
	r := BuildScheduler(res, sc, 1, "h", "", WithPrices(fixedPrices()))
	s := r.Scheduler
	if s.LatenessBucketSeconds != 5 {
		t.Errorf("bucket %v s, want 5 (a twelfth of the minute)", s.LatenessBucketSeconds)
	}
	want := []int64{2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2}
	if len(s.LatenessCounts) != len(want) {
		t.Fatalf("counts %v, want %v", s.LatenessCounts, want)
	}
	for i := range want {
		if s.LatenessCounts[i] != want[i] {
			t.Fatalf("counts %v, want %v", s.LatenessCounts, want)
		}
	}
	c := r.Cost
	// 4 invocations: 4e-6 requests; 6 runs x 0.1 s x 1 GB x 0.001; 4 rule
	// invocations x 1e-6; 4 updates x 2e-6; 2 node-hours x 3.6.
	if want := 4e-6 + 0.0006 + 4e-6 + 8e-6 + 7.2; !near(c.Total, want) {
		t.Errorf("self total %v, want %v (items %v)", c.Total, want, c.Items)
	}
	if !near(c.Per1000Events, c.Total/6*1000) || c.Per1000 != 0 {
		t.Errorf("per 1000 events %v, per 1000 uploads %v", c.Per1000Events, c.Per1000)
	}
	// The one-shot peer pays the scheduler price per invocation instead.
	if want := 6e-6 + 0.0006 + 18e-6 + 12e-6; len(s.Peers) != 1 || !near(s.Peers[0].Cost, want) {
		t.Errorf("peers %+v, want one-shot cost %v", s.Peers, want)
	}
}
