package session

import (
	"sync"
	"testing"
)

// TestCallTableLeft checks the stack of calls whose callers left: pushed
// from many goroutines at once, exactly one push finds it empty, and the
// actor takes every call once.
func TestCallTableLeft(t *testing.T) {
	var tab callTable
	tab.pfx = "p-"
	const n = 200
	calls := make([]*pendingCall, n)
	ids := map[string]bool{}
	for i := range calls {
		calls[i] = &pendingCall{id: tab.newID()}
		ids[calls[i].id] = true
	}
	if len(ids) != n || !ids["p-1"] || !ids["p-200"] {
		t.Fatalf("ids not unique or not numbered from p-1: %d distinct", len(ids))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for _, pc := range calls {
		wg.Go(func() {
			if tab.pushLeft(pc) {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("%d pushes found the stack empty, want 1", firsts)
	}
	seen := map[*pendingCall]bool{}
	for pc := tab.takeLeft(); pc != nil; pc = pc.nextLeft {
		seen[pc] = true
	}
	if len(seen) != n || tab.takeLeft() != nil {
		t.Fatalf("took %d calls, want %d, and the stack empty after", len(seen), n)
	}
	if !tab.pushLeft(calls[0]) {
		t.Fatal("a push on the emptied stack did not find it empty")
	}
}
