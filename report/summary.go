package report

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// maxExamples caps the upload ids shown per invariant in text outputs.
const maxExamples = 5

// Summary writes the terminal summary of a run: verdict and reasons first,
// then uploads, polls, latency, throughput, invariants, gates, scheduler,
// harness, cost and the line that reruns the same seed.
func Summary(w io.Writer, r *Results) error {
	s := &sumWriter{w: w}
	s.header(r)
	s.verdict(r)
	if !schedulerOnly(r) {
		s.uploads(r)
		s.polls(r)
		s.latency(r)
		s.throughput(r)
	}
	s.regions(r)
	s.invariants(r)
	s.gates(r)
	s.repeat(r)
	s.scheduler(r)
	s.email(r)
	s.harness(r)
	s.cost(r)
	if r.Rerun != "" {
		s.printf("rerun: %s\n", r.Rerun)
	}
	if s.err != nil {
		return fmt.Errorf("write summary: %w", s.err)
	}
	return nil
}

// schedulerOnly reports a run of the scheduler alone: its upload figures
// are all zero and say nothing, so the summaries leave them out.
func schedulerOnly(r *Results) bool {
	return r.Uploads.Total == 0 && r.Scheduler != nil
}

// sumWriter keeps the first write error so sections need not check each line.
type sumWriter struct {
	w   io.Writer
	err error
}

func (s *sumWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// table writes rows of tab-separated cells aligned in columns, without
// the trailing blanks tabwriter leaves after an empty last cell.
func (s *sumWriter) table(rows [][]string) {
	if s.err != nil || len(rows) == 0 {
		return
	}
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	if s.err = tw.Flush(); s.err != nil {
		return
	}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line != "" {
			s.printf("%s\n", strings.TrimRight(line, " \n"))
		}
	}
}

func (s *sumWriter) header(r *Results) {
	s.printf("stormsim  scenario %s  strategy %s  seed %d  workload %s\n",
		orDash(r.Scenario), orDash(r.Strategy), r.Seed, orDash(shortHash(r.WorkloadHash)))
	started := "-"
	if !r.Started.IsZero() {
		started = r.Started.UTC().Format("2006-01-02 15:04:05Z")
	}
	s.printf("started %s  duration %s", started, seconds(r.DurationSeconds))
	if r.Partial {
		s.printf("  (interrupted: partial results)")
	}
	s.printf("\n")
	if m := r.Model; r.Mode == ModeModel && m != nil {
		s.printf("MODELLED, not measured: profile %s (%s; %s)\n", m.Profile, orDash(m.ProfileDate), orDash(m.ProfileSource))
		s.printf("handler %s: limit %d, max concurrency %d, invocations %d, cold starts %d, throttles %d; Redis busiest node %s busy; lock busy answers %d\n",
			m.Handler, m.ConcurrencyLimit, m.MaxConcurrency, m.Invocations, m.ColdStarts, m.Throttles, percent(m.RedisUtilization), m.LockBusy)
		if g := m.Generator; g != nil {
			s.printf("generator pods: %d of %g CPU / %s (%d for %.0f uploads/s, %d for %d in flight; %.2f ms CPU per upload, %s per upload in flight, from %s)\n",
				g.Pods, g.PodCPU, bytesIEC(g.PodMemoryBytes), g.PodsForCPU, g.Rate, g.PodsForMemory, g.MaxInFlight,
				g.CPUSecondsPerUpload*1000, bytesIEC(int64(g.BytesPerInFlight)), g.Source)
		}
		for _, n := range m.Notes {
			s.printf("note: %s\n", n)
		}
	}
	s.printf("\n")
}

func (s *sumWriter) verdict(r *Results) {
	s.printf("verdict: %s\n", strings.ToUpper(orDash(r.Verdict)))
	for _, reason := range r.Reasons {
		s.printf("  - %s\n", reason)
	}
	s.printf("\n")
}

func (s *sumWriter) uploads(r *Results) {
	u := r.Uploads
	of := func(n int64) string { return fmt.Sprintf("%d (%s)", n, percent(share(n, u.Total))) }
	rows := [][]string{
		{"uploads", "total", "committed", "conflict", "rejected", "error", "unknown"},
		{"", fmt.Sprint(u.Total), of(u.Committed), of(u.Conflict), of(u.Rejected), of(u.Error), of(u.Unknown)},
	}
	s.table(rows)
	s.printf("conflict rate %s of decided uploads  multipart %d  bytes %s\n",
		percent(conflictRate(u)), u.Multipart, bytesIEC(u.Bytes))
	if u.Pending > 0 || u.DecidedLate > 0 {
		s.printf("of the unknown: %d still pending when the drain ended", u.Pending)
		if u.Pending > 0 {
			s.printf(" (%s)", pendingBreakdown(u.PendingReasons))
		}
		s.printf(", %d decided by the server after their device gave up\n", u.DecidedLate)
	}
	s.errorKinds(r)
	s.printf("\n")
}

// errorWhere says what each error kind counts and where the history shows
// it, so that no count in the summary is left unexplained (a poll error is
// not an upload error: the device polls again).
var errorWhere = map[string]string{
	"poll":             "failed result queries, each polled again (not upload outcomes); history: poll records with state \"error\"",
	"timeout":          "devices that stopped waiting for an outcome; history: upload records with outcome \"unknown\"",
	"stage":            "staging uploads that failed; history: upload records with outcome \"error\"",
	"hostile-accepted": "hostile uploads the coordinator accepted; history: upload records with outcome \"error\"",
	"history":          "history records that could not be written",
	"readback":         "read-back listings that failed after the drain",
	"scheduler":        "the scheduler run beside the uploads failed",
}

// knownCauses explain error texts whose reason is not plain from the text.
var knownCauses = []struct{ text, why string }{
	{"HTTP 404 no such upload", "the result API found neither a result nor the staged object, even on a second read of the result: an upload id it never saw, or a result past its result_ttl"},
}

// errorKinds writes one line per error kind: its count, what it counts,
// and its causes as recorded in the history.
func (s *sumWriter) errorKinds(r *Results) {
	if len(r.Errors) == 0 {
		return
	}
	s.printf("errors by kind:\n")
	for _, k := range sortedKeys(r.Errors) {
		s.printf("  %s %d", k, r.Errors[k])
		if w := errorWhere[k]; w != "" {
			s.printf(": %s", w)
		}
		if causes := r.ErrorCauses[k]; len(causes) > 0 {
			keys := sortedKeys(causes)
			sort.SliceStable(keys, func(i, j int) bool { return causes[keys[i]] > causes[keys[j]] })
			parts := make([]string, len(keys))
			for i, c := range keys {
				parts[i] = fmt.Sprintf("%d x %s", causes[c], c)
				for _, k := range knownCauses {
					if strings.Contains(c, k.text) {
						parts[i] += " (" + k.why + ")"
					}
				}
			}
			s.printf("; causes: %s", strings.Join(parts, ", "))
		}
		s.printf("\n")
	}
}

func (s *sumWriter) polls(r *Results) {
	p := r.Polls
	s.table([][]string{
		{"polls per upload", "mean", "p50", "p99", "max", "by push (0 polls)", "total polls"},
		{"", num(p.Mean), num(p.P50), num(p.P99), num(p.Max), percent(p.ZeroShare), fmt.Sprint(p.Total)},
	})
	s.printf("\n")
}

func (s *sumWriter) latency(r *Results) {
	row := func(name string, l Latency) []string {
		return []string{name, seconds(l.P50), seconds(l.P90), seconds(l.P99), seconds(l.P999),
			seconds(l.Max), seconds(l.Mean), fmt.Sprint(l.Count)}
	}
	rows := [][]string{
		{"latency", "p50", "p90", "p99", "p99.9", "max", "mean", "n"},
		row("  planned -> outcome known", r.Latency),
	}
	for _, ph := range phases(r) {
		if ph.lat.Count > 0 {
			rows = append(rows, row("  "+ph.name, ph.lat))
		}
	}
	s.table(rows)
	s.printf("\n")
}

func (s *sumWriter) throughput(r *Results) {
	t := r.Throughput
	s.table([][]string{
		{"throughput", "planned/s", "achieved/s", "ratio", "commits/s", "uploads/s", "max in flight"},
		{"", num(round2(t.PlannedRate)), num(round2(t.AchievedRate)), num(round2(t.AchievedRatio)),
			num(round2(t.CommitsPerSecond)), num(round2(t.UploadsPerSecond)), fmt.Sprint(t.MaxInFlight)},
	})
	s.printf("\n")
}

func (s *sumWriter) invariants(r *Results) {
	if len(r.Invariants) == 0 {
		s.printf("invariants: none checked\n\n")
		return
	}
	rows := [][]string{{"invariants", "", "violations", "examples"}}
	for _, inv := range r.Invariants {
		ex := examples(inv.Examples, maxExamples)
		if inv.Detail != "" {
			ex = strings.TrimSpace(ex + "  " + inv.Detail)
		}
		rows = append(rows, []string{"  " + status(inv.OK, inv.Inconclusive), inv.Name, fmt.Sprint(inv.Violations), ex})
	}
	s.table(rows)
	s.printf("\n")
}

func (s *sumWriter) gates(r *Results) {
	if len(r.Gates) == 0 {
		s.printf("gates: none\n\n")
		return
	}
	rows := [][]string{{"gates", "", "value"}}
	for _, g := range r.Gates {
		rows = append(rows, []string{"  " + status(g.OK, g.Inconclusive), g.Expr, gateValue(g) + gateIntervalText(g)})
	}
	s.table(rows)
	s.printf("\n")
}

func (s *sumWriter) scheduler(r *Results) {
	sc := r.Scheduler
	if sc == nil {
		return
	}
	s.printf("scheduler (%s): events %d  runs %d  early %d  missed %d  duplicates %d\n",
		orDash(sc.Strategy), sc.Events, sc.Runs, sc.Early, sc.Missed, sc.Duplicates)
	s.printf("  invocations %d  empty wakeups %d  rule updates %d  throttled %d\n",
		sc.Invocations, sc.EmptyWakeups, sc.RuleUpdates, sc.Throttled)
	l := sc.Lateness
	rows := [][]string{
		{"  lateness", "mean", "p50", "p99", "max", "invocations", "rule updates", "early", "missed"},
		{"  " + orDash(sc.Strategy), seconds(l.Mean), seconds(l.P50), seconds(l.P99), seconds(l.Max),
			fmt.Sprint(sc.Invocations), fmt.Sprint(sc.RuleUpdates), fmt.Sprint(sc.Early), fmt.Sprint(sc.Missed)},
	}
	if sc.TheoryMean > 0 {
		rows = append(rows, []string{"  theory (uniform)", seconds(sc.TheoryMean), "-", "-", "-", "-", "-", "0", "0"})
	}
	for _, p := range sc.Peers {
		rows = append(rows, []string{"  " + p.Strategy, seconds(p.MeanLateness), "-", seconds(p.P99Lateness),
			seconds(p.MaxLateness), fmt.Sprint(p.Invocations), fmt.Sprint(p.RuleUpdates), fmt.Sprint(p.Early), fmt.Sprint(p.Missed)})
	}
	s.table(rows)
	s.printf("\n")
}

func (s *sumWriter) harness(r *Results) {
	h := r.Harness
	if h == nil {
		return
	}
	if r.Mode == ModeModel {
		// A plan has no harness: only its modelled call counts.
		s.printf("modelled calls: redis %d (%s per upload)  s3 %d (%s per upload)\n",
			h.RedisCalls, num(round2(h.RedisCallsPerUpload)), h.S3Calls, num(round2(h.S3CallsPerUpload)))
		return
	}
	s.printf("harness: cpu %s (%s of cores)  max rss %s  max goroutines %d  history lines %d\n",
		seconds(h.CPUSeconds), percent(h.CPUUtilization), bytesIEC(h.MaxRSSBytes), h.Goroutines, h.HistoryLines)
	s.printf("  redis calls %d (%s per upload)  s3 calls %d (%s per upload)  stored %s\n",
		h.RedisCalls, num(round2(h.RedisCallsPerUpload)), h.S3Calls, num(round2(h.S3CallsPerUpload)), bytesIEC(h.StoredBytes))
	if sat := h.Saturation; sat != nil {
		state := "not bound"
		if sat.Bound {
			state = "BOUND"
		}
		s.printf("  saturation: %s  lag p50 %s p99 %s max %s (launch p99 %s, device timers p99 %s)  go scheduler p99 %s\n",
			state, seconds(sat.Lag.P50), seconds(sat.Lag.P99), seconds(sat.Lag.Max), seconds(sat.LaunchLag.P99),
			seconds(sat.TimerLateness.P99), seconds(sat.SchedLatency.P99))
		s.printf("    cpu: this process %s%s  waits: redis p99 %s, s3 p99 %s, event queue p99 %s\n",
			percent(sat.ProcessCPUShare), machineCPU(sat), seconds(sat.RedisWait.P99), seconds(sat.S3Wait.P99), seconds(sat.EventQueueWait.P99))
		for _, why := range sat.Reasons {
			s.printf("    - %s\n", why)
		}
	}
	if h.HeapHarnessMaxBytes > 0 {
		s.printf("  live heap after the drain: harness %s (under load at most %s), embedded fakes' state %s\n",
			bytesIEC(h.HeapHarnessEndBytes), bytesIEC(h.HeapHarnessMaxBytes), bytesIEC(h.HeapFakesEndBytes))
	}
	s.printf("\n")
}

func (s *sumWriter) cost(r *Results) {
	if r.Billing != nil {
		s.printf("%s\n\n", invoiceLine(r.Billing))
	}
	c := r.Cost
	if c == nil {
		return
	}
	s.printf("cost: %s %s per run, %s per 1,000 uploads (prices as of %s)\n",
		money(c.Total), c.Currency, money(c.Per1000), orDash(c.PricesAsOf))
	for _, k := range sortedKeys(c.Items) {
		s.printf("  %-28s %s\n", k, money(c.Items[k]))
	}
	s.printf("\n")
}

// machineCPU is the machine's CPU use beside the process's, when known.
func machineCPU(sat *Saturation) string {
	wait := ""
	if sat.RunQueueWaitShare >= 0 {
		wait = fmt.Sprintf(", waited %s for a CPU", percent(sat.RunQueueWaitShare))
	}
	if sat.MachineCPUBusyShare < 0 {
		return fmt.Sprintf(" of %d cores%s", sat.CPUs, wait)
	}
	return fmt.Sprintf("%s, machine %s busy, others %s of %d cores", wait, percent(sat.MachineCPUBusyShare), percent(sat.OtherCPUShare), sat.CPUs)
}

// phase names a latency phase in display order.
type phase struct {
	name string
	lat  Latency
}

func phases(r *Results) []phase {
	return []phase{
		{"queue", r.Phases.Queue},
		{"upload", r.Phases.Upload},
		{"decision", r.Phases.Decision},
		{"notify", r.Phases.Notify},
	}
}
