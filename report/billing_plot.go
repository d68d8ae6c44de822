package report

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// billsPlot draws how many users were billed how much: the per-user bill
// histogram of results.json billing.histogram.
func billsPlot(r *Results) (*plot.Plot, error) {
	b := r.Billing
	if b == nil || len(b.Histogram) == 0 || b.Users == 0 {
		return nil, errNoData
	}
	scale, unit := amountScale(b.PerUser.Max)
	p := newPlot(fmt.Sprintf("Per-user storage bill (%d users, %s %s/GB-month)", b.Users, money(b.PricePerGBMonth), b.Currency),
		fmt.Sprintf("bill over the run (%s%s)", unit, b.Currency), "users")
	h := &plotter.Histogram{FillColor: palette[0], LineStyle: plotter.DefaultLineStyle}
	for _, x := range b.Histogram {
		h.Bins = append(h.Bins, plotter.HistogramBin{Min: x.Min * scale, Max: x.Max * scale, Weight: float64(x.Users)})
	}
	if len(h.Bins) == 1 && h.Bins[0].Max == h.Bins[0].Min {
		h.Bins[0].Max = h.Bins[0].Min + 1e-9 // every bill zero: one visible bar
	}
	h.Width = h.Bins[0].Max - h.Bins[0].Min
	p.Add(h)
	p.Legend.Add(fmt.Sprintf("users (total %s, p50 %s, max %s)", amount(b.Total), amount(b.PerUser.P50), amount(b.PerUser.Max)), h)
	p.Y.Min = 0
	headroom(p)
	return p, nil
}

// amountScale picks a unit for amounts up to top so the axis reads in
// plain numbers: a short run's bills are fractions of a cent.
func amountScale(top float64) (scale float64, unit string) {
	units := []string{"", "milli-", "micro-", "nano-", "pico-"}
	scale = 1
	for i := 0; ; i++ {
		if top*scale >= 1 || i == len(units)-1 || top <= 0 {
			return scale, units[i]
		}
		scale *= 1000
	}
}
