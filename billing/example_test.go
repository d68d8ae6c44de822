package billing_test

import (
	"fmt"
	"time"

	"github.com/stormsim/stormsim/billing"
	"github.com/stormsim/stormsim/coordinator"
)

// A user commits a 1 GiB file, a retry meters the same commit again (it
// is billed once), and a conflicted copy of 1 GiB is kept half-way
// through a 730-hour month: 1 GiB all month and 1 GiB half of it.
func ExampleLedger() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	half := start.Add(billing.Month / 2)
	l := billing.NewLedger()
	l.Add(coordinator.UsageEvent{ID: "1-0", Upload: "u1", User: "ann", Kind: coordinator.UsageCommit, Delta: billing.GiB, Bytes: billing.GiB, Seq: 1, At: start})
	l.Add(coordinator.UsageEvent{ID: "2-0", Upload: "u1", User: "ann", Kind: coordinator.UsageCommit, Delta: billing.GiB, Bytes: 2 * billing.GiB, Seq: 2, At: start})
	l.Add(coordinator.UsageEvent{ID: "3-0", Upload: "u2", User: "ann", Kind: coordinator.UsageCopy, Delta: billing.GiB, Bytes: 3 * billing.GiB, Seq: 3, At: half})
	for _, b := range l.Bills(start, start.Add(billing.Month)) {
		fmt.Printf("%s: %.2f GB-months, %d events billed, %d duplicate\n", b.User, b.GBMonths, b.Events, b.Duplicates)
	}
	// Output: ann: 1.50 GB-months, 2 events billed, 1 duplicate
}
