package report

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stormsim/stormsim/billing"
	"github.com/stormsim/stormsim/sim/checker"
)

func TestBillingFrom_PricesTheBills(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cb := &checker.Billing{Users: 20, Judged: 19, MismatchedUsers: 1, DoubleCounted: 2, From: t0, To: t0.Add(time.Hour)}
	for i := 1; i <= 20; i++ {
		gbm := float64(i) // user i stores i GB-months
		cb.Bills = append(cb.Bills, billing.Bill{User: fmt.Sprintf("u%02d", i), Bytes: int64(i) << 30, GBMonths: gbm})
	}
	p := DefaultPrices()
	p.Billing.GBMonth = 0.5
	b := billingFrom(cb, p)
	if b.Total != 0.5*210 || b.GBMonths != 210 || b.PeriodSeconds != 3600 || b.MismatchedUsers != 1 || b.DoubleCounted != 2 {
		t.Errorf("totals = %+v", b)
	}
	if b.PerUser.P50 != 5 || b.PerUser.P90 != 9 || b.PerUser.Max != 10 || b.PerUser.Mean != 0.5*210/20 {
		t.Errorf("per user = %+v", b.PerUser)
	}
	if len(b.TopUsers) != 10 || b.TopUsers[0].User != "u20" || b.TopUsers[9].User != "u11" {
		t.Errorf("top users = %+v", b.TopUsers)
	}
	n := 0
	for _, h := range b.Histogram {
		n += h.Users
	}
	if len(b.Histogram) != billBuckets || n != 20 || b.Histogram[billBuckets-1].Users == 0 {
		t.Errorf("histogram = %+v", b.Histogram)
	}
	if math.Abs(b.MonthAtEnd-0.5*210) > 1e-9 {
		t.Errorf("a month at the end = %v, want %v", b.MonthAtEnd, 0.5*210)
	}
}

func TestResults_Metric_Billing(t *testing.T) {
	r := &Results{}
	if _, ok := r.Metric("billing.mismatched_users"); ok {
		t.Error("billing metric has samples without a billing section")
	}
	r.Billing = &Billing{MismatchedUsers: 3, DoubleCounted: 4}
	if v, ok := r.Metric("billing.mismatched_users"); !ok || v != 3 {
		t.Errorf("billing.mismatched_users = %v, %v", v, ok)
	}
	if v, ok := r.Metric("billing.double_counted"); !ok || v != 4 {
		t.Errorf("billing.double_counted = %v, %v", v, ok)
	}
}
