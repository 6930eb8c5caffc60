package session

import (
	"testing"

	"github.com/sodp-go/client/internal/delta"
)

func TestReplayHoldPlace(t *testing.T) {
	op := func(v int64) []delta.Op { return []delta.Op{{Op: delta.OpUpdate, Path: "/a", Value: v}} }
	var h replayHold
	const base = 10
	steps := []struct {
		version uint64
		ops     []delta.Op
		want    placement
	}{
		{9, op(9), placeSkip},   // in the copy already
		{10, op(10), placeSkip}, // the version the replay starts from
		{12, op(12), placeHold},
		{12, op(12), placeSkip}, // doubled
		{15, op(15), placeHold}, // versions have gaps
		{15, op(99), placeEarly},
		{13, op(13), placeEarly}, // 15 came before an older one
		{16, op(16), placeHold},
	}
	for i, st := range steps {
		got := h.place(base, st.version, st.ops, 100)
		if got != st.want {
			t.Fatalf("step %d: version %d placed %d, want %d", i, st.version, got, st.want)
		}
		if got == placeHold {
			h.add(heldDelta{version: st.version, ops: st.ops}, 100)
		}
	}
	if len(h.deltas) != 3 || h.bytes != 300 {
		t.Fatalf("held %d DELTAs, %d bytes", len(h.deltas), h.bytes)
	}
	if held := h.take(); len(held) != 3 || held[0].version != 12 || held[2].version != 16 || !h.empty() || h.bytes != 0 {
		t.Fatalf("take: %v, then %+v", held, h)
	}
}

func TestReplayHoldBounded(t *testing.T) {
	var h replayHold
	v := uint64(1)
	for ; h.place(0, v, nil, 10) == placeHold; v++ {
		h.add(heldDelta{version: v}, 10)
	}
	if len(h.deltas) != maxHeldDeltas || h.place(0, v, nil, 10) != placeFull {
		t.Fatalf("held %d DELTAs before the hold was full, want %d", len(h.deltas), maxHeldDeltas)
	}
	h.take()
	h.add(heldDelta{version: 1}, maxHeldBytes-10)
	if got := h.place(0, 2, nil, 11); got != placeFull {
		t.Fatalf("past the byte bound: placed %d", got)
	}
	if got := h.place(0, 2, nil, 10); got != placeHold {
		t.Fatalf("at the byte bound: placed %d", got)
	}
}
