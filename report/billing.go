package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/stormsim/stormsim/sim/checker"
)

// Billing is results.json "billing": what the run's users are billed for
// storage, from the coordinator's usage events (the consumer's bills), at
// the price per GB-month of the price table (billing.gb_month), and how
// far the meter was found to be from storage.
type Billing struct {
	Currency        string  `json:"currency"`
	PricePerGBMonth float64 `json:"price_per_gb_month"`
	PricesAsOf      string  `json:"prices_as_of"`
	// PeriodSeconds is the billed period: from the first usage event to
	// the read-back after the drain.
	PeriodSeconds float64 `json:"period_seconds"`
	// Users were read back; Judged had no event still in flight.
	Users  int `json:"users"`
	Judged int `json:"judged"`
	// MismatchedUsers: users whose meter differs from the bytes listed in
	// S3 (gate metric billing.mismatched_users). DoubleCounted: usage
	// events beyond the first for one decision (billing.double_counted).
	// Lost: decisions never metered. Phantom: events without a decision.
	MismatchedUsers int `json:"mismatched_users"`
	DoubleCounted   int `json:"double_counted"`
	Lost            int `json:"lost"`
	Phantom         int `json:"phantom"`
	// Totals over every user: bytes stored at the end, byte-seconds and
	// GB-months (GiB x 730 h) over the period, and the amount billed.
	StoredBytes int64   `json:"stored_bytes"`
	ByteSeconds float64 `json:"byte_seconds"`
	GBMonths    float64 `json:"gb_months"`
	Total       float64 `json:"total"`
	// MonthAtEnd is what a month would cost at the bytes stored at the
	// end: a short run bills little, this says what its state is worth.
	MonthAtEnd float64 `json:"month_at_end"`
	// PerUser is the distribution of the users' amounts; Histogram counts
	// users per amount bin (the report's chart); TopUsers are the largest
	// bills, at most ten.
	PerUser   BillStats    `json:"per_user"`
	Histogram []BillBucket `json:"histogram"`
	TopUsers  []UserBill   `json:"top_users"`
}

// BillStats summarises per-user amounts.
type BillStats struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// BillBucket counts the users billed at least Min and less than Max (the
// last bucket includes its Max).
type BillBucket struct {
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Users int     `json:"users"`
}

// UserBill is one user's bill.
type UserBill struct {
	User        string  `json:"user"`
	Bytes       int64   `json:"bytes"`
	ByteSeconds float64 `json:"byte_seconds"`
	GBMonths    float64 `json:"gb_months"`
	Amount      float64 `json:"amount"`
}

// billBuckets is how many bins the per-user histogram has.
const billBuckets = 12

// billingFrom prices the checker's billing figures; nil when the run read
// no usage back.
func billingFrom(b *checker.Billing, p *Prices) *Billing {
	if b == nil {
		return nil
	}
	out := &Billing{Currency: p.Currency, PricePerGBMonth: p.Billing.GBMonth, PricesAsOf: p.AsOf,
		PeriodSeconds: b.To.Sub(b.From).Seconds(), Users: b.Users, Judged: b.Judged,
		MismatchedUsers: b.MismatchedUsers, DoubleCounted: b.DoubleCounted, Lost: b.Lost, Phantom: b.Phantom,
		Histogram: []BillBucket{}, TopUsers: []UserBill{}}
	bills := make([]UserBill, len(b.Bills))
	for i, x := range b.Bills {
		bills[i] = UserBill{User: x.User, Bytes: x.Bytes, ByteSeconds: x.ByteSeconds, GBMonths: x.GBMonths,
			Amount: x.GBMonths * p.Billing.GBMonth}
		out.StoredBytes += x.Bytes
		out.ByteSeconds += x.ByteSeconds
		out.GBMonths += x.GBMonths
		out.Total += bills[i].Amount
	}
	out.MonthAtEnd = float64(out.StoredBytes) / gib * p.Billing.GBMonth
	if len(bills) == 0 {
		return out
	}
	slices.SortStableFunc(bills, func(a, b UserBill) int {
		return cmp.Or(cmp.Compare(b.Amount, a.Amount), cmp.Compare(a.User, b.User))
	})
	out.TopUsers = bills[:min(10, len(bills))]
	amounts := make([]float64, len(bills))
	for i, x := range bills {
		amounts[len(bills)-1-i] = x.Amount // ascending
	}
	q := func(f float64) float64 {
		return amounts[min(len(amounts)-1, int(math.Ceil(f*float64(len(amounts))))-1)]
	}
	out.PerUser = BillStats{Mean: out.Total / float64(len(bills)), P50: q(0.5), P90: q(0.9), P99: q(0.99), Max: amounts[len(amounts)-1]}
	out.Histogram = billHistogram(amounts)
	return out
}

// mergeBilling prices the merged history's bills at the shards' price.
func mergeBilling(shards []*Results, check checker.Report) *Billing {
	for _, s := range shards {
		if b := s.Billing; b != nil {
			return billingFrom(check.Billing, &Prices{Currency: b.Currency, AsOf: b.PricesAsOf, Billing: BillingPrices{GBMonth: b.PricePerGBMonth}})
		}
	}
	return billingFrom(check.Billing, DefaultPrices())
}

// billHistogram bins ascending amounts into billBuckets equal bins from 0
// to the largest.
func billHistogram(amounts []float64) []BillBucket {
	top := amounts[len(amounts)-1]
	if top <= 0 {
		return []BillBucket{{Min: 0, Max: 0, Users: len(amounts)}}
	}
	w := top / billBuckets
	out := make([]BillBucket, billBuckets)
	for i := range out {
		out[i] = BillBucket{Min: float64(i) * w, Max: float64(i+1) * w}
	}
	for _, a := range amounts {
		out[min(billBuckets-1, max(0, int(a/w)))].Users++
	}
	return out
}

// invoiceLine is the summary's one-line invoice.
func invoiceLine(b *Billing) string {
	return fmt.Sprintf("invoice: %d users, %s stored, %.4g GB-months over %s at %s %s/GB-month: total %s %s "+
		"(per user p50 %s, max %s; a month at the end's %s: %s); meter vs storage: %d mismatched users, %d double-counted events",
		b.Users, bytesIEC(b.StoredBytes), b.GBMonths, seconds(b.PeriodSeconds), money(b.PricePerGBMonth), b.Currency,
		amount(b.Total), b.Currency, amount(b.PerUser.P50), amount(b.PerUser.Max), bytesIEC(b.StoredBytes), amount(b.MonthAtEnd),
		b.MismatchedUsers, b.DoubleCounted)
}

// amount prints a bill, in three significant digits when under a cent
// (a short run's storage bill is a small fraction of one).
func amount(v float64) string {
	if v != 0 && math.Abs(v) < 0.01 {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4f", v)
}
