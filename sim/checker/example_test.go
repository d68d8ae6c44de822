package checker_test

import (
	"fmt"
	"time"

	"github.com/stormsim/stormsim/sim/checker"
	"github.com/stormsim/stormsim/sim/history"
)

func ExampleCheck() {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := &history.Set{
		Uploads: []history.Upload{
			{ID: "a", User: "u", Path: "notes.md", SHA256: "aa", Start: at(0), Staged: at(5), Done: at(9),
				Outcome: history.OutcomeCommitted, Version: 1, Push: true},
			{ID: "b", User: "u", Path: "notes.md", SHA256: "bb", Start: at(1), Staged: at(6), Done: at(9),
				Outcome: history.OutcomeConflict, Copy: "notes (conflicted copy).md", Push: true},
		},
		Commits:   []history.Commit{{ID: "a", User: "u", Path: "notes.md", Version: 1, SHA256: "aa", Fence: 1, At: at(7)}},
		Conflicts: []history.Conflict{{ID: "b", User: "u", Path: "notes.md", Head: 1, Copy: "notes (conflicted copy).md", At: at(8)}},
		Pushes: []history.Push{
			{ID: "a", User: "u", At: at(7), State: history.OutcomeCommitted, Version: 1},
			// The push for b names the wrong outcome.
			{ID: "b", User: "u", At: at(8), State: history.OutcomeCommitted, Version: 1},
		},
		Copies: []history.Copy{{ID: "b", Key: "notes (conflicted copy).md", SHA256: "bb", Found: true}},
		Finals: []history.Final{{User: "u", Path: "notes.md", Version: 1, Head: 1, SHA256: "aa"}},
	}
	r := checker.Check(s, checker.Options{Fencing: true})
	for _, c := range r.Checks {
		fmt.Println(c.Name, c.OK, c.Examples)
	}
	fmt.Println("violations:", r.Violations)
	// Output:
	// one-winner true []
	// no-lost-update true []
	// nothing-dropped true []
	// agreement false [b]
	// idempotence true []
	// stability true []
	// fencing true []
	// cleanliness true []
	// linearizability true []
	// violations: 1
}
