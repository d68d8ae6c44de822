// Package contract builds the JSON Schemas of a run's outputs, results.json
// and history.jsonl, from the Go types that write them (report.Results and
// the sim/history records), with the enums taken from their Go constants.
//
// docs/schema/ holds the generated files and docs/contract.md explains
// them; a golden test keeps the files equal to what the types say, so
// regenerate after changing an output type:
//
//	go test ./internal/contract -run Schema -update
package contract

import (
	"maps"
	"reflect"
	"slices"

	"github.com/stormsim/stormsim/coordinator"
	"github.com/stormsim/stormsim/internal/jsonschema"
	"github.com/stormsim/stormsim/report"
	"github.com/stormsim/stormsim/scenarios"
	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
	"github.com/stormsim/stormsim/sim/schedsim"
)

// Record is one history.jsonl kind and the type that writes it.
type Record struct {
	Kind string // the value of "t"
	Type reflect.Type
}

// Records lists every history kind, in the order docs/contract.md gives
// them. A test checks it against history.Set, which decodes every kind.
var Records = []Record{
	{history.KindUpload, reflect.TypeFor[history.Upload]()},
	{history.KindPoll, reflect.TypeFor[history.Poll]()},
	{history.KindPush, reflect.TypeFor[history.Push]()},
	{history.KindCommit, reflect.TypeFor[history.Commit]()},
	{history.KindConflict, reflect.TypeFor[history.Conflict]()},
	{history.KindReject, reflect.TypeFor[history.Reject]()},
	{history.KindFinal, reflect.TypeFor[history.Final]()},
	{history.KindCopy, reflect.TypeFor[history.Copy]()},
	{history.KindResult, reflect.TypeFor[history.Result]()},
	{history.KindLeftover, reflect.TypeFor[history.Leftover]()},
	{history.KindSched, reflect.TypeFor[history.Sched]()},
	{history.KindFault, reflect.TypeFor[history.Fault]()},
	{history.KindFence, reflect.TypeFor[history.Fence]()},
	{history.KindPending, reflect.TypeFor[history.Pending]()},
	{history.KindUsage, reflect.TypeFor[history.Usage]()},
	{history.KindStorage, reflect.TypeFor[history.Storage]()},
	{history.KindMail, reflect.TypeFor[history.Mail]()},
	{history.KindStop, reflect.TypeFor[history.Stop]()},
	{history.KindReplica, reflect.TypeFor[history.Replica]()},
	{history.KindView, reflect.TypeFor[history.View]()},
	{history.KindRegionFinal, reflect.TypeFor[history.RegionFinal]()},
	{history.KindNotify, reflect.TypeFor[history.Notify]()},
	{history.KindRefused, reflect.TypeFor[history.Refused]()},
}

func outcomes(o ...history.Outcome) []string {
	s := make([]string, len(o))
	for i, v := range o {
		s[i] = string(v)
	}
	return s
}

// faultKinds is every scenario fault kind, sorted.
func faultKinds() []string {
	kinds := slices.AppendSeq(slices.Collect(maps.Keys(scenarios.FaultKinds)), maps.Keys(scenarios.RegionFaultKinds))
	slices.Sort(kinds)
	return kinds
}

// schedulerStrategies are the names a scheduler result is written with.
var schedulerStrategies = []string{schedsim.StrategySelf, schedsim.StrategyPoll, schedsim.StrategyOneShot}

// ResultsSchema is the schema of results.json.
func ResultsSchema() (*jsonschema.Schema, error) {
	var strategies []string
	for _, s := range coordinator.Strategies {
		strategies = append(strategies, string(s))
	}
	g := &jsonschema.Generator{FieldEnums: map[string][]string{
		"Results.Verdict": {report.Pass, report.Fail, report.Inconclusive},
		// The coordinator's strategy; a scheduler-only run names the
		// scheduler's.
		"Results.Strategy":       append(strategies, schedulerStrategies...),
		"Scheduler.Strategy":     schedulerStrategies,
		"SchedulerPeer.Strategy": schedulerStrategies,
		"FaultWindow.Kind":       faultKinds(),
		"Invariant.Name": {checker.NameOneWinner, checker.NameNoLostUpdate, checker.NameNothingDropped,
			checker.NameAgreement, checker.NameIdempotence, checker.NameStability, checker.NameFencing,
			checker.NameCleanliness, checker.NameBilling, checker.NameScheduler, checker.NameEmail, checker.NameLinearizability,
			checker.NameConvergence, checker.NameNoRegression, checker.NameNoPhantom, checker.NameReplicationIdempotent,
			checker.NameNotified},
	}}
	ref := g.Schema(reflect.TypeFor[report.Results]())
	if err := g.Err(); err != nil {
		return nil, err
	}
	return &jsonschema.Schema{
		Schema: jsonschema.Draft,
		Title:  "stormsim results.json",
		Description: "One run's results (docs/contract.md). Generated from report.Results; " +
			"keys not named here may be added by later versions and must be ignored.",
		Ref:  ref.Ref,
		Defs: g.Defs(),
	}, nil
}

// HistorySchema is the schema of one history.jsonl line: one of the
// record kinds, told apart by "t".
func HistorySchema() (*jsonschema.Schema, error) {
	decided := outcomes(history.OutcomeCommitted, history.OutcomeConflict, history.OutcomeRejected)
	g := &jsonschema.Generator{FieldEnums: map[string][]string{
		"Upload.Outcome": outcomes(history.OutcomeCommitted, history.OutcomeConflict, history.OutcomeRejected,
			history.OutcomeError, history.OutcomeUnknown),
		"Poll.State":    outcomes(history.OutcomePending, history.OutcomeCommitted, history.OutcomeConflict, history.OutcomeRejected, history.OutcomeError),
		"Push.State":    decided,
		"Result.State":  append(slices.Clone(decided), ""), // "": nothing stored
		"Leftover.Kind": {history.LeftoverStaged, history.LeftoverLock, history.LeftoverMultipart},
		"Fault.Kind":    faultKinds(),
		"Pending.Reason": {history.PendingQueued, history.PendingRunning, history.PendingRetrying,
			history.PendingDead, history.PendingLost},
		"Replica.Outcome": {history.ReplicaApplied, history.ReplicaSkipped, history.ReplicaFailed},
	}}
	root := &jsonschema.Schema{
		Schema: jsonschema.Draft,
		Title:  "stormsim history.jsonl record",
		Description: "One line of history.jsonl (docs/contract.md): a record of the kind named by t. " +
			"Generated from the sim/history types; keys not named here may be added by later versions and must be ignored.",
		Type:       jsonschema.Types{"object"},
		Properties: map[string]*jsonschema.Schema{"t": {Type: jsonschema.Types{"string"}}},
		Required:   []string{"t"},
	}
	for _, r := range Records {
		root.Properties["t"].Enum = append(root.Properties["t"].Enum, r.Kind)
		ref := g.Schema(r.Type)
		root.OneOf = append(root.OneOf, ref)
		kind := r.Kind
		g.Defs()[r.Type.Name()].Properties["t"] = &jsonschema.Schema{Type: jsonschema.Types{"string"}, Const: &kind}
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	root.Defs = g.Defs()
	return root, nil
}
