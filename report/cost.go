package report

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
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

//go:embed prices.yaml
var defaultPricesYAML []byte

// minBilledSeconds is Lambda's billing granularity: 1 ms per invocation.
const minBilledSeconds = 0.001

// gib is the GB of S3's and Lambda's price sheets.
const gib = 1 << 30

// Prices is a price table (prices.yaml). Amounts are in Currency, quoted
// per the unit the provider's pricing page uses.
type Prices struct {
	AsOf     string
	Currency string
	Region   string
	// Source is "built-in defaults" or the override file's path.
	Source string

	LambdaMemoryMB           float64
	LambdaRequestsPerMillion float64
	LambdaGBSecond           float64

	S3Tier1Per1000  float64
	S3Tier2Per1000  float64
	S3DeletePer1000 float64
	S3GBMonth       float64
	S3StorageMonths float64

	RedisNodeType string
	RedisNodeHour float64
	RedisNodes    float64

	APIRequestsPerMillion      float64
	APILambdaSecondsPerRequest float64

	RuleInvocationsPerMillion      float64
	RuleUpdatesPerMillion          float64
	SchedulerInvocationsPerMillion float64

	TransferInterRegionGB float64
}

// fields maps each prices.yaml key to the field it sets.
func (p *Prices) fields() map[string]any {
	return map[string]any{
		"as_of":                                   &p.AsOf,
		"currency":                                &p.Currency,
		"region":                                  &p.Region,
		"lambda.memory_mb":                        &p.LambdaMemoryMB,
		"lambda.requests_per_million":             &p.LambdaRequestsPerMillion,
		"lambda.gb_second":                        &p.LambdaGBSecond,
		"s3.tier1_per_1000":                       &p.S3Tier1Per1000,
		"s3.tier2_per_1000":                       &p.S3Tier2Per1000,
		"s3.delete_per_1000":                      &p.S3DeletePer1000,
		"s3.gb_month":                             &p.S3GBMonth,
		"s3.storage_months":                       &p.S3StorageMonths,
		"redis.node_type":                         &p.RedisNodeType,
		"redis.node_hour":                         &p.RedisNodeHour,
		"redis.nodes":                             &p.RedisNodes,
		"result_api.requests_per_million":         &p.APIRequestsPerMillion,
		"result_api.lambda_seconds_per_request":   &p.APILambdaSecondsPerRequest,
		"timer.rule_invocations_per_million":      &p.RuleInvocationsPerMillion,
		"timer.rule_updates_per_million":          &p.RuleUpdatesPerMillion,
		"timer.scheduler_invocations_per_million": &p.SchedulerInvocationsPerMillion,
		"transfer.inter_region_gb":                &p.TransferInterRegionGB,
	}
}

var defaultPrices = sync.OnceValue(func() *Prices {
	p, err := ParsePrices("report/prices.yaml", defaultPricesYAML, &Prices{})
	if err != nil {
		panic(fmt.Sprintf("report: embedded prices.yaml: %v", err))
	}
	p.Source = "built-in defaults"
	return p
})

// DefaultPrices returns a copy of the built-in price table (prices.yaml).
func DefaultPrices() *Prices {
	p := *defaultPrices()
	return &p
}

// LoadPrices returns the built-in prices overridden by the file at path
// (the built-in table alone when path is ""). Errors about the content
// wrap ErrInvalidPrices and read "FILE:LINE: FIELD: MESSAGE".
func LoadPrices(path string) (*Prices, error) {
	if path == "" {
		return DefaultPrices(), nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load prices: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("load prices: %w", err)
	}
	p, err := ParsePrices(path, data, DefaultPrices())
	if err != nil {
		return nil, err
	}
	p.Source = path
	return p, nil
}

// ErrInvalidPrices is wrapped by every price-table parse error.
var ErrInvalidPrices = errors.New("invalid prices")

// PriceError is one problem in a price file.
type PriceError struct {
	File  string
	Line  int
	Field string
	Msg   string
}

func (e *PriceError) Error() string {
	s := e.File
	if e.Line > 0 {
		s += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	return s + ": " + e.Msg
}

// Unwrap makes errors.Is(err, ErrInvalidPrices) true.
func (e *PriceError) Unwrap() error { return ErrInvalidPrices }

// ParsePrices reads a price table named name on top of a copy of base
// (defaults, strict parse, validate): keys it does not name keep base's
// value; unknown keys, duplicates, wrong types and negative amounts are
// errors.
func ParsePrices(name string, data []byte, base *Prices) (*Prices, error) {
	p := *base
	pp := &priceParser{file: name, fields: p.fields(), seen: map[string]int{}, lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, pp.syntax(err)
	}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			pp.fail(root.Line, "", "the price table must be a mapping")
		} else {
			pp.mapping(root, "")
		}
	}
	pp.validate(&p)
	if len(pp.errs) > 0 {
		return nil, errors.Join(pp.errs...)
	}
	return &p, nil
}

type priceParser struct {
	file   string
	fields map[string]any
	seen   map[string]int
	lines  map[string]int
	errs   []error
}

func (pp *priceParser) fail(line int, field, format string, a ...any) {
	pp.errs = append(pp.errs, &PriceError{File: pp.file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
}

func (pp *priceParser) syntax(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ":"); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, strings.TrimSpace(rest[i+1:])
			}
		}
	}
	return &PriceError{File: pp.file, Line: line, Msg: "syntax error: " + msg}
}

func (pp *priceParser) mapping(n *yaml.Node, prefix string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.AliasNode && v.Alias != nil {
			v = v.Alias
		}
		if k.ShortTag() == "!!merge" {
			pp.fail(k.Line, prefix+"<<", "merge keys are not supported in price files")
			continue
		}
		key := prefix + k.Value
		if first, dup := pp.seen[key]; dup {
			pp.fail(k.Line, key, "duplicate field (first set at line %d)", first)
			continue
		}
		pp.seen[key] = k.Line
		if v.Kind == yaml.MappingNode {
			if !pp.isSection(key) {
				pp.fail(k.Line, key, "unknown section%s", pp.suggest(key))
				continue
			}
			pp.mapping(v, key+".")
			continue
		}
		target, ok := pp.fields[key]
		if !ok {
			if pp.isSection(key) {
				pp.fail(k.Line, key, "is a section: want a mapping of its fields")
			} else {
				pp.fail(k.Line, key, "unknown field%s", pp.suggest(key))
			}
			continue
		}
		if v.Kind != yaml.ScalarNode {
			pp.fail(v.Line, key, "want a single value, got a list")
			continue
		}
		switch t := target.(type) {
		case *string:
			*t = v.Value
		case *float64:
			tag := v.ShortTag()
			x, err := strconv.ParseFloat(v.Value, 64)
			switch {
			case tag != "!!int" && tag != "!!float" || err != nil:
				pp.fail(v.Line, key, "want a number, got %q", v.Value)
			case math.IsNaN(x) || math.IsInf(x, 0) || x < 0:
				pp.fail(v.Line, key, "must be a finite number >= 0, got %s", v.Value)
			default:
				*t = x
			}
		}
		pp.lines[key] = v.Line
	}
}

func (pp *priceParser) isSection(key string) bool {
	for f := range pp.fields {
		if strings.HasPrefix(f, key+".") {
			return true
		}
	}
	return false
}

// suggest names the known keys of the same section.
func (pp *priceParser) suggest(key string) string {
	prefix := ""
	if i := strings.LastIndex(key, "."); i >= 0 {
		prefix = key[:i+1]
	}
	var names []string
	for f := range pp.fields {
		if rest, ok := strings.CutPrefix(f, prefix); ok {
			if j := strings.Index(rest, "."); j >= 0 {
				rest = rest[:j]
			}
			if !slices.Contains(names, rest) {
				names = append(names, rest)
			}
		}
	}
	sort.Strings(names)
	return " (known: " + strings.Join(names, ", ") + ")"
}

// validate checks the merged table; errors point at the line that set the
// offending value (0 when it came from the defaults).
func (pp *priceParser) validate(p *Prices) {
	if p.AsOf == "" {
		pp.fail(0, "as_of", "missing: the date the prices were taken (YYYY-MM-DD)")
	} else if _, err := time.Parse("2006-01-02", p.AsOf); err != nil {
		pp.fail(pp.lines["as_of"], "as_of", "want a date YYYY-MM-DD, got %q", p.AsOf)
	}
	if p.Currency == "" {
		pp.fail(pp.lines["currency"], "currency", "missing")
	}
	if m := p.LambdaMemoryMB; m < 128 || m > 10240 {
		pp.fail(pp.lines["lambda.memory_mb"], "lambda.memory_mb", "must be within 128..10240 (Lambda's range), got %g", m)
	}
}

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
	gb := p.LambdaMemoryMB / 1024
	billed := math.Max(u.HandlerSeconds, float64(u.Invocations)*minBilledSeconds)
	add("lambda.requests", float64(u.Invocations), p.LambdaRequestsPerMillion/1e6)
	add("lambda.gb_seconds", billed*gb, p.LambdaGBSecond)

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
	add("s3.tier1_requests", float64(tier1), p.S3Tier1Per1000/1000)
	add("s3.tier2_requests", float64(tier2), p.S3Tier2Per1000/1000)
	add("s3.delete_requests", float64(del), p.S3DeletePer1000/1000)
	add("s3.gb_months", float64(u.StoredBytes)/gib*p.S3StorageMonths, p.S3GBMonth)

	add("redis.node_hours", u.RedisSeconds/3600*p.RedisNodes, p.RedisNodeHour)

	polls := float64(u.Polls)
	add("result_api.requests", polls, p.APIRequestsPerMillion/1e6)
	add("result_api.lambda_requests", polls, p.LambdaRequestsPerMillion/1e6)
	add("result_api.lambda_gb_seconds", polls*math.Max(p.APILambdaSecondsPerRequest, minBilledSeconds)*gb, p.LambdaGBSecond)

	add("timer.rule_invocations", float64(u.RuleInvocations), p.RuleInvocationsPerMillion/1e6)
	add("timer.rule_updates", float64(u.RuleUpdates), p.RuleUpdatesPerMillion/1e6)
	add("timer.scheduler_invocations", float64(u.SchedulerInvocations), p.SchedulerInvocationsPerMillion/1e6)

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

type buildConfig struct{ prices *Prices }

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
