package report

import (
	_ "embed"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/stormsim/stormsim/internal/yamlconf"
)

//go:embed prices.yaml
var defaultPricesYAML []byte

// maxPricesFile is the largest price file read (1 MiB).
const maxPricesFile = 1 << 20

// Prices is a price table (prices.yaml), one section per service. Amounts
// are in Currency, quoted per the unit the provider's pricing page uses.
type Prices struct {
	AsOf     string `yaml:"as_of"`
	Currency string `yaml:"currency"`
	Region   string `yaml:"region"`
	// Source is "built-in defaults" or the override file's path.
	Source string `yaml:"-"`

	Lambda    LambdaPrices    `yaml:"lambda"`
	S3        S3Prices        `yaml:"s3"`
	Redis     RedisPrices     `yaml:"redis"`
	ResultAPI ResultAPIPrices `yaml:"result_api"`
	Timer     TimerPrices     `yaml:"timer"`
	Billing   BillingPrices   `yaml:"billing"`
	Transfer  TransferPrices  `yaml:"transfer"`
}

// TransferPrices price data moved between regions (multi-region runs).
type TransferPrices struct {
	// InterRegionGB is the price per GB sent from one region to another.
	InterRegionGB float64 `yaml:"inter_region_gb"`
}

// BillingPrices are what the service charges its users, not what AWS
// charges it (results.json "billing").
type BillingPrices struct {
	// GBMonth is the price per GiB-month a user stores.
	GBMonth float64 `yaml:"gb_month"`
}

// LambdaPrices price the S3-event handler.
type LambdaPrices struct {
	MemoryMB           float64 `yaml:"memory_mb"`
	RequestsPerMillion float64 `yaml:"requests_per_million"`
	GBSecond           float64 `yaml:"gb_second"`
}

// S3Prices price requests by tier and storage.
type S3Prices struct {
	Tier1Per1000  float64 `yaml:"tier1_per_1000"`
	Tier2Per1000  float64 `yaml:"tier2_per_1000"`
	DeletePer1000 float64 `yaml:"delete_per_1000"`
	GBMonth       float64 `yaml:"gb_month"`
	StorageMonths float64 `yaml:"storage_months"`
}

// RedisPrices price the Redis nodes for the run's duration.
type RedisPrices struct {
	NodeType string  `yaml:"node_type"`
	NodeHour float64 `yaml:"node_hour"`
	Nodes    float64 `yaml:"nodes"`
}

// ResultAPIPrices price the result endpoint devices poll.
type ResultAPIPrices struct {
	RequestsPerMillion      float64 `yaml:"requests_per_million"`
	LambdaSecondsPerRequest float64 `yaml:"lambda_seconds_per_request"`
}

// TimerPrices price the scheduler's timer.
type TimerPrices struct {
	RuleInvocationsPerMillion      float64 `yaml:"rule_invocations_per_million"`
	RuleUpdatesPerMillion          float64 `yaml:"rule_updates_per_million"`
	SchedulerInvocationsPerMillion float64 `yaml:"scheduler_invocations_per_million"`
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
// are yamlconf.FieldErrors wrapping ErrInvalidPrices and read
// "FILE:LINE: FIELD: MESSAGE".
func LoadPrices(path string) (*Prices, error) {
	if path == "" {
		return DefaultPrices(), nil
	}
	data, err := yamlconf.ReadFile(path, maxPricesFile)
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

// ErrInvalidPrices is wrapped by every price-table error (beside
// yamlconf.ErrInvalid).
var ErrInvalidPrices = errors.New("invalid prices")

// ParsePrices reads a price table named name on top of a copy of base in
// three steps: base supplies the defaults, the file is decoded strictly
// over them (keys it does not name keep base's value; unknown keys,
// duplicates and wrong types are errors), then the table is validated.
func ParsePrices(name string, data []byte, base *Prices) (*Prices, error) {
	p := *base
	root, err := yamlconf.Document(name, data, maxPricesFile, ErrInvalidPrices)
	if err != nil {
		return nil, err
	}
	d := yamlconf.NewDecoder(name, ErrInvalidPrices, nil)
	d.Decode(root, &p, "the price table")
	if err := d.Errs.Err(); err != nil {
		return nil, err
	}
	validatePrices(d, &p)
	if err := d.Errs.Err(); err != nil {
		return nil, err
	}
	return &p, nil
}

// validatePrices checks the merged table; errors point at the line that
// set the offending value (0 when it came from the defaults).
func validatePrices(d *yamlconf.Decoder, p *Prices) {
	if p.AsOf == "" {
		d.Failf(0, "as_of", "missing: the date the prices were taken (YYYY-MM-DD)")
	} else if _, err := time.Parse("2006-01-02", p.AsOf); err != nil {
		d.Failf(d.Line("as_of"), "as_of", "want a date YYYY-MM-DD, got %q", p.AsOf)
	}
	if p.Currency == "" {
		d.Failf(d.Line("currency"), "currency", "missing")
	}
	if m := p.Lambda.MemoryMB; m < 128 || m > 10240 {
		d.Failf(d.Line("lambda.memory_mb"), "lambda.memory_mb", "must be within 128..10240 (Lambda's range), got %g", m)
	}
	// Every amount is a price or a quantity: none may be negative.
	sections := reflect.ValueOf(p).Elem()
	for i := range sections.NumField() {
		sec := sections.Field(i)
		if sec.Kind() != reflect.Struct {
			continue
		}
		prefix := sections.Type().Field(i).Tag.Get("yaml") + "."
		for j := range sec.NumField() {
			if f := sec.Field(j); f.Kind() == reflect.Float64 && f.Float() < 0 {
				key := prefix + sec.Type().Field(j).Tag.Get("yaml")
				d.Failf(d.Line(key), key, "must be a finite number >= 0, got %s", d.Raw[key])
			}
		}
	}
}
