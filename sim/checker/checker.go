package checker

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/stormsim/stormsim/sim/history"
)

// Stable check names, as they appear in results.json "invariants".
const (
	NameOneWinner       = "one-winner"
	NameNoLostUpdate    = "no-lost-update"
	NameNothingDropped  = "nothing-dropped"
	NameAgreement       = "agreement"
	NameIdempotence     = "idempotence"
	NameStability       = "stability"
	NameFencing         = "fencing"
	NameCleanliness     = "cleanliness"
	NameScheduler       = "scheduler"
	NameLinearizability = "linearizability"
)

// Defaults for zero Options fields.
const (
	DefaultLinearizabilityTimeout = 30 * time.Second
	DefaultMaxExamples            = 10
)

// Options tune a check. The zero value is usable.
type Options struct {
	// LinearizabilityTimeout is the total budget of the linearizability
	// check over all files (default 30s). Files not decided in time make the
	// check inconclusive.
	LinearizabilityTimeout time.Duration
	// MaxExamples caps Result.Examples per check (default 10). Violations
	// are always counted in full.
	MaxExamples int
	// Fencing enables the fence-order check; true for the redis-lock
	// strategy, whose commits carry a fencing token.
	Fencing bool
}

func (o Options) withDefaults() Options {
	if o.LinearizabilityTimeout <= 0 {
		o.LinearizabilityTimeout = DefaultLinearizabilityTimeout
	}
	if o.MaxExamples <= 0 {
		o.MaxExamples = DefaultMaxExamples
	}
	return o
}

// Result is the outcome of one check.
type Result struct {
	Name       string
	OK         bool // no violation and not inconclusive
	Violations int
	// Examples names what is involved in the first violations: upload ids,
	// keys (cleanliness) or scheduled event ids (scheduler).
	Examples []string
	// Inconclusive is set when the check could not finish; never a pass.
	Inconclusive bool
	// Detail describes the first violations, or what was checked.
	Detail string
}

// Report is the outcome of all checks, in a fixed order.
type Report struct {
	Checks       []Result
	Inconclusive bool // some check is inconclusive
	Violations   int  // sum over Checks
	// Pending counts uploads still undecided, their bytes staged, when the
	// drain ended (history kind "pending" without a decision): a liveness
	// figure, not a violation. PendingReasons splits it by where the event
	// was (history.Pending* reasons).
	Pending        int
	PendingReasons map[string]int
	// DecidedLate counts uploads whose device gave up waiting (outcome
	// unknown) but which the server decided later, during the drain.
	DecidedLate int
	// Billing is what the billing check found; nil when the history has
	// no storage records (written before billing was read back).
	Billing *Billing
}

// OK reports whether every check passed.
func (r Report) OK() bool { return r.Violations == 0 && !r.Inconclusive }

// Find returns the check named name.
func (r Report) Find(name string) (Result, bool) {
	for _, c := range r.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return Result{}, false
}

// Check evaluates every applicable invariant on s. Fencing runs only when
// o.Fencing is set, scheduler only when s has sched records, email only when
// one of them sends an e-mail, billing only when s has storage records
// (every run reads them back).
func Check(s *history.Set, o Options) Report {
	o = o.withDefaults()
	ix := newIndex(s)
	checks := []Result{
		checkOneWinner(ix, o),
		checkNoLostUpdate(ix, o),
		checkNothingDropped(ix, o),
		checkAgreement(ix, o),
		checkIdempotence(ix, o),
		checkStability(ix, o),
	}
	if o.Fencing {
		checks = append(checks, checkFencing(ix, o))
	}
	checks = append(checks, checkCleanliness(ix, o))
	var bill *Billing
	if len(s.Storages) > 0 {
		var res Result
		res, bill = checkBilling(ix, o)
		checks = append(checks, res)
	}
	if len(s.Scheds) > 0 {
		checks = append(checks, checkScheduler(ix, o))
	}
	if HasMail(s) {
		checks = append(checks, checkEmail(ix, o))
	}
	if hasRegions(s) {
		checks = append(checks, regionChecks(ix, o)...)
	}
	checks = append(checks, checkLinearizability(ix, o))

	var r Report
	r.Checks = checks
	r.Billing = bill
	r.PendingReasons, r.Pending, r.DecidedLate = pendingUploads(ix)
	for _, c := range checks {
		r.Violations += c.Violations
		r.Inconclusive = r.Inconclusive || c.Inconclusive
	}
	return r
}

// CheckFile reads a history.jsonl and checks it.
func CheckFile(path string, o Options) (Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return Report{}, fmt.Errorf("check history: %w", err)
	}
	defer f.Close()
	s, err := history.Read(f)
	if err != nil {
		return Report{}, fmt.Errorf("check history %s: %w", path, err)
	}
	return Check(s, o), nil
}

// maxDetails caps the violation descriptions kept in Result.Detail.
const maxDetails = 5

// collector accumulates the violations of one check.
type collector struct {
	name     string
	max      int
	n        int
	examples []string
	seen     map[string]bool
	details  []string
}

func newCollector(name string, o Options) *collector {
	return &collector{name: name, max: o.MaxExamples, seen: map[string]bool{}}
}

// add records one violation involving ids; format and args describe it.
func (c *collector) add(ids []string, format string, args ...any) {
	c.n++
	for _, id := range ids {
		if len(c.examples) >= c.max {
			break
		}
		if id == "" || c.seen[id] {
			continue
		}
		c.seen[id] = true
		c.examples = append(c.examples, id)
	}
	if len(c.details) < maxDetails {
		c.details = append(c.details, fmt.Sprintf(format, args...))
	}
}

// result closes the check; summary (may be empty) says what was checked.
func (c *collector) result(summary string) Result {
	r := Result{Name: c.name, OK: c.n == 0, Violations: c.n, Examples: c.examples}
	var b strings.Builder
	b.WriteString(summary)
	if c.n > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%d violation(s): %s", c.n, strings.Join(c.details, "; "))
		if c.n > len(c.details) {
			fmt.Fprintf(&b, "; (+%d more)", c.n-len(c.details))
		}
	}
	r.Detail = b.String()
	return r
}
