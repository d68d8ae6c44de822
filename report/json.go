package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// WriteJSON writes r as indented JSON (results.json).
func WriteJSON(w io.Writer, r *Results) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// ReadResults reads a results.json written by WriteJSON. Unknown fields
// are ignored so that newer files stay readable by older tools.
func ReadResults(path string) (*Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read results %s: %w", path, err)
	}
	unknownWhenAbsent(data, &r)
	return &r, nil
}

// unknownWhenAbsent marks the figures a file written before they existed
// lacks as unknown (-1) rather than the zero decoding leaves, which would
// read as measured: harness.saturation.run_queue_wait_share.
func unknownWhenAbsent(data []byte, r *Results) {
	if r.Harness == nil || r.Harness.Saturation == nil {
		return
	}
	var keys struct {
		Harness struct {
			Saturation map[string]json.RawMessage `json:"saturation"`
		} `json:"harness"`
	}
	if json.Unmarshal(data, &keys) != nil {
		return
	}
	if _, ok := keys.Harness.Saturation["run_queue_wait_share"]; !ok {
		r.Harness.Saturation.RunQueueWaitShare = -1
	}
}
