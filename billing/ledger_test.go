package billing

import (
	"math"
	"testing"
	"time"

	"github.com/stormsim/stormsim/coordinator"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }

func TestIntegrate_Cases(t *testing.T) {
	tests := []struct {
		name     string
		steps    []Step
		from, to time.Time
		want     float64
	}{
		{"nothing stored", nil, at(0), at(100), 0},
		{"one step", []Step{{at(10), 5}}, at(0), at(20), 50},
		{"grows and shrinks", []Step{{at(0), 10}, {at(10), 30}, {at(20), 5}}, at(0), at(30), 100 + 300 + 50},
		{"step after the end", []Step{{at(0), 10}, {at(50), 1000}}, at(0), at(20), 200},
		{"step before the start", []Step{{at(-10), 7}}, at(0), at(10), 70},
		{"out-of-order clocks", []Step{{at(10), 4}, {at(5), 8}}, at(0), at(20), 8 * 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Integrate(tt.steps, tt.from, tt.to); got != tt.want {
				t.Errorf("Integrate = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGBMonths_OneGiBForAMonth(t *testing.T) {
	if got := GBMonths(GiB * Month.Seconds()); math.Abs(got-1) > 1e-12 {
		t.Errorf("GBMonths(1 GiB for 730 h) = %v, want 1", got)
	}
}

func ev(id, upload, kind string, delta, bytes, seq int64, s int) coordinator.UsageEvent {
	return coordinator.UsageEvent{ID: id, Upload: upload, User: "ann", Kind: kind, Delta: delta, Bytes: bytes, Seq: seq, At: at(s)}
}

func TestLedger_Add_Cases(t *testing.T) {
	tests := []struct {
		name   string
		events []coordinator.UsageEvent
		want   Bill // User, ByteSeconds over [0, 100] s
	}{
		{"commit then copy", []coordinator.UsageEvent{
			ev("1-0", "u1", coordinator.UsageCommit, 10, 10, 1, 0),
			ev("2-0", "u2", coordinator.UsageCopy, 5, 15, 2, 50),
		}, Bill{Bytes: 15, ByteSeconds: 10*50 + 15*50, Events: 2}},
		{"entry read twice", []coordinator.UsageEvent{
			ev("1-0", "u1", coordinator.UsageCommit, 10, 10, 1, 0),
			ev("1-0", "u1", coordinator.UsageCommit, 10, 10, 1, 0),
		}, Bill{Bytes: 10, ByteSeconds: 1000, Events: 1}},
		{"decision metered twice", []coordinator.UsageEvent{
			ev("1-0", "u1", coordinator.UsageCopy, 10, 10, 1, 0),
			ev("2-0", "u1", coordinator.UsageCopy, 10, 20, 2, 10),
			ev("3-0", "u2", coordinator.UsageCommit, 1, 21, 3, 50),
		}, Bill{Bytes: 11, ByteSeconds: 10*50 + 11*50, Events: 2, Duplicates: 1}},
		{"trimmed before read", []coordinator.UsageEvent{
			ev("5-0", "u5", coordinator.UsageCommit, 3, 40, 5, 50),
		}, Bill{Bytes: 40, ByteSeconds: 40 * 50, Events: 1, Gaps: 1}},
		{"gap after a duplicate", []coordinator.UsageEvent{
			ev("1-0", "u1", coordinator.UsageCopy, 10, 10, 1, 0),
			ev("2-0", "u1", coordinator.UsageCopy, 10, 20, 2, 0),
			ev("9-0", "u9", coordinator.UsageCopy, 1, 31, 9, 50),
		}, Bill{Bytes: 21, ByteSeconds: 10*50 + 21*50, Events: 2, Duplicates: 1, Gaps: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger()
			for _, e := range tt.events {
				l.Add(e)
			}
			bills := l.Bills(at(0), at(100))
			if len(bills) != 1 {
				t.Fatalf("%d bills, want 1", len(bills))
			}
			got := bills[0]
			tt.want.User, tt.want.GBMonths = "ann", GBMonths(tt.want.ByteSeconds)
			if got != tt.want {
				t.Errorf("bill = %+v\nwant   %+v", got, tt.want)
			}
		})
	}
}

func TestStreamIDAfter(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"2-0", "1-9", true},
		{"1-10", "1-9", true},
		{"1-9", "1-9", false},
		{"10-0", "9-0", true}, // numeric, not lexical
		{"9-0", "10-0", false},
	}
	for _, tt := range tests {
		if got := streamIDAfter(tt.a, tt.b); got != tt.want {
			t.Errorf("streamIDAfter(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
