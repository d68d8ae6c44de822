package memredis

import "testing"

func TestLookupCtxFields_ChangedContext_Fails(t *testing.T) {
	type renamed struct {
		selectedDB  int
		transaction []int
		subscriber  *int
		isNested    bool
	}
	if _, err := lookupCtxFields(&renamed{}); err == nil {
		t.Fatal("a context without nested was accepted")
	}
	type retyped struct {
		selectedDB  int
		transaction *int
		subscriber  *int
		nested      bool
	}
	if _, err := lookupCtxFields(&retyped{}); err == nil {
		t.Fatal("a context whose transaction is not a slice was accepted")
	}
}
