package delta

import (
	"sync"
	"unsafe"
	"weak"
)

// Appending to a large array without copying it.
//
// Apply must not change any array reachable from its input, so appending to
// an array normally copies it. For arrays of at least tailMin elements that
// Apply itself allocated, it keeps spare capacity behind the elements and
// records in the tail table, per backing array, how many of its elements are
// claimed. The invariants are:
//
//  1. Every slice header over a recorded backing array A that Apply hands out
//     or stores in a value ends at some index k <= claimed and has no
//     capacity beyond its length (A[:k:k], or A[1:k:k] after removing the
//     first element). Whoever holds it cannot reach index k or beyond without
//     copying, so nobody outside Apply can see an index >= claimed.
//  2. Elements below claimed are never written again once a header covering
//     them has left the Apply call that wrote them. (Within one call, arrays
//     the call itself allocated may be changed freely: nothing outside the
//     call refers to them yet.)
//
// An append to a header A[:k:k] may therefore write A[k] in place exactly
// when k == claimed and k < cap(A): no header anywhere can see index k. The
// check and the increment of claimed happen under one lock, so when two
// appends race from the same header (or the same value is applied twice),
// one of them wins and the other copies. The table holds a weak pointer per
// backing array and compares it with the header's data pointer, so an entry
// left behind by a collected array never matches a new array that happens to
// reuse its address; such entries are swept once the table has doubled in
// size since the last sweep.

// tailMin is the smallest array length for which appends reserve spare
// capacity and record it in the tail table. Copying a shorter array costs
// about as much as recording one.
const tailMin = 64

type tailEntry struct {
	ptr     weak.Pointer[any]
	claimed int
	cap     int
}

var tails struct {
	mu      sync.Mutex
	m       map[uintptr]tailEntry
	sweepAt int
}

// appendInPlace appends v to s without copying when the invariants above
// allow it, returning the new header and true; otherwise it changes nothing
// and returns false.
func appendInPlace(s []any, v any) ([]any, bool) {
	n := len(s)
	if n < tailMin {
		return nil, false
	}
	p := unsafe.SliceData(s)
	key := uintptr(unsafe.Pointer(p))
	tails.mu.Lock()
	defer tails.mu.Unlock()
	e, ok := tails.m[key]
	if !ok || e.claimed != n || n >= e.cap || e.ptr.Value() != p {
		return nil, false
	}
	full := unsafe.Slice(p, e.cap)
	full[n] = v
	e.claimed = n + 1
	tails.m[key] = e
	return full[: n+1 : n+1], true
}

// appendCopy returns a new array holding s followed by v, without changing
// s. Arrays of tailMin elements or more get spare capacity, recorded in the
// tail table so that later appends can use it.
func appendCopy(s []any, v any) []any {
	n := len(s)
	if n+1 < tailMin {
		out := make([]any, n+1)
		copy(out, s)
		out[n] = v
		return out
	}
	full := append(s[:n:n], v) // s[:n:n] has no room, so this allocates
	if cap(full) > n+1 {
		recordTail(full)
	}
	return full[: n+1 : n+1]
}

// recordTail enters a freshly allocated backing array, of which len(full)
// elements are in use, into the tail table.
func recordTail(full []any) {
	p := unsafe.SliceData(full)
	e := tailEntry{ptr: weak.Make(p), claimed: len(full), cap: cap(full)}
	tails.mu.Lock()
	defer tails.mu.Unlock()
	if tails.m == nil {
		tails.m = make(map[uintptr]tailEntry)
	}
	if len(tails.m) >= tails.sweepAt {
		sweepTails()
	}
	tails.m[uintptr(unsafe.Pointer(p))] = e
}

// sweepTails drops the entries of collected arrays. tails.mu must be held.
func sweepTails() {
	for k, e := range tails.m {
		if e.ptr.Value() == nil {
			delete(tails.m, k)
		}
	}
	tails.sweepAt = max(2*len(tails.m), 1024)
}
