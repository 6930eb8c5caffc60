package session

import (
	"testing"
	"time"
)

// TestRequestFIFO drives the FIFO alone: numbering across resets, cutting
// the oldest, removing from the middle, finding a call.
func TestRequestFIFO(t *testing.T) {
	t0 := time.Unix(1000, 0)
	var q requestFIFO
	rs := make([]*request, 5)
	for i := range rs {
		rs[i] = &request{kind: reqWatch}
		if i == 3 {
			rs[i] = &request{kind: reqCall, call: &pendingCall{id: "c"}}
		}
		q.add(rs[i], t0)
	}
	if rs[0].seq != 1 || rs[4].seq != 5 || q.seq != 5 || rs[4].sentAt != t0 {
		t.Fatalf("numbered %d..%d, last %d", rs[0].seq, rs[4].seq, q.seq)
	}
	if i := q.call("c"); i != 3 {
		t.Fatalf("call c at %d, want 3", i)
	}
	if q.call("nope") != -1 {
		t.Fatal("found a call that is not there")
	}
	q.cut(2)
	if len(q.list) != 3 || q.list[0] != rs[2] {
		t.Fatalf("after cut(2): %d left, first seq %d", len(q.list), q.list[0].seq)
	}
	removed := q.removeWhere(func(_ int, r *request) bool { return r == rs[3] })
	if len(removed) != 1 || removed[0] != rs[3] {
		t.Fatalf("removed %v, want request 3", removed)
	}
	if len(q.list) != 2 || q.list[0] != rs[2] || q.list[1] != rs[4] || q.call("c") != -1 {
		t.Fatalf("after remove: %v", q.list)
	}
	q.reset()
	r := &request{kind: reqResume}
	q.add(r, t0)
	if len(q.list) != 1 || r.seq != 6 {
		t.Fatalf("after reset: %d waiting, numbered %d; want 1, 6", len(q.list), r.seq)
	}
}
