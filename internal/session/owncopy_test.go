package session

import (
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/wire"
)

// TestOwnCopyFollowsTheValue applies random deltas to a key watched by a
// subscriber of the value and by own-copy subscribers, and checks after each
// delta that every own copy, resolved as its pump does, equals the value,
// and that the values handed out to the subscriber of the value never
// change, although the own copies are changed in place.
func TestOwnCopyFollowsTheValue(t *testing.T) {
	for _, shared := range []bool{false, true} {
		testOwnCopyFollowsTheValue(t, shared)
	}
}

// testOwnCopyFollowsTheValue runs the random deltas with own copies that
// change in place, or (shared) that are frozen at each update because their
// reader keeps what it is given: every value resolved must then stay as it
// was, although the cache and the copies go on changing.
func testOwnCopyFollowsTheValue(t *testing.T, shared bool) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 5))
		s := &Session{}
		ks := &keyState{key: "k", own: new(delta.Owner), have: true, initialized: true, value: propValue(r, 4)}
		plain := &Subscriber{Keys: []string{"k"}}
		plain.Mailbox.init(1000, nil, nil)
		withPlain := r.IntN(2) == 0
		if withPlain {
			ks.subs.add(plain)
			ks.subs.given(plain)
		}
		var owners []*Subscriber
		var ownCopies []*OwnCopies
		for range 1 + r.IntN(2) {
			sub := &Subscriber{Keys: []string{"k"}, ownCopy: true}
			copies := &OwnCopies{Shared: shared}
			sub.Mailbox.init(1000, nil, nil)
			ks.subs.add(sub)
			ks.subs.given(sub)
			// The first value, as the snapshot gives it.
			ks.own.Freeze(ks.value)
			d := copies.Resolve(Delivery{Key: "k", Value: ks.value, Initialized: true, Kind: KindSnapshot})
			if d.InPlace == shared || !delta.Equal(d.Value, ks.value) {
				t.Fatalf("seed %d: snapshot resolved to %#v", seed, d)
			}
			owners = append(owners, sub)
			ownCopies = append(ownCopies, copies)
		}
		var given, givenCpy []any
		for step := range 40 {
			ops := propOps(r, ks.value)
			limit := newContainersFor(200)
			v, init, err := ks.own.ApplyState(ks.value, ks.initialized, ops, limit)
			if err != nil {
				// The client re-synchronises the key: every subscriber
				// is given the fresh value.
				ks.own.Reset()
				ks.value = deepCopy(ks.value)
				for _, copies := range ownCopies {
					copies.Resolve(Delivery{Key: "k", Value: ks.value, Initialized: ks.initialized, Kind: KindResync})
				}
				continue
			}
			ks.value, ks.initialized, ks.version = v, init, ks.version+1
			s.deliverDelta(ks, ops, limit, KindDelta)
			for i, sub := range owners {
				d, ok := sub.Mailbox.Next()
				if !ok || d.Value != nil || d.Ops == nil {
					t.Fatalf("seed %d step %d: an own-copy subscriber was queued %#v, %v; want the ops alone", seed, step, d, ok)
				}
				d = ownCopies[i].Resolve(d)
				if d.Err != nil || d.InPlace == shared || d.Initialized != ks.initialized || ks.initialized && !delta.Equal(d.Value, ks.value) {
					t.Fatalf("seed %d step %d (shared %v): own copy %#v (err %v)\nvalue %#v", seed, step, shared, d.Value, d.Err, ks.value)
				}
				if shared {
					given, givenCpy = append(given, d.Value), append(givenCpy, deepCopy(d.Value))
				}
				if len(d.Changed) == 0 {
					t.Fatalf("seed %d step %d: no Changed list", seed, step)
				}
			}
			if withPlain {
				d, ok := plain.Mailbox.Next()
				if !ok || d.Ops != nil || d.InPlace {
					t.Fatalf("seed %d step %d: the subscriber of the value was queued %#v", seed, step, d)
				}
				given, givenCpy = append(given, d.Value), append(givenCpy, deepCopy(d.Value))
			}
			for i := range given {
				if !delta.Equal(given[i], givenCpy[i]) {
					t.Fatalf("seed %d step %d: a value handed out changed", seed, step)
				}
			}
		}
	}
}

// TestOwnCopyLeavesTheCacheUnfrozen checks the point of own copies: with
// only own-copy subscribers, a delta changes the cached value in place, so
// the next delta to the same place copies nothing.
func TestOwnCopyLeavesTheCacheUnfrozen(t *testing.T) {
	for _, own := range []bool{false, true} {
		s := &Session{}
		ks := &keyState{key: "k", own: new(delta.Owner), have: true, initialized: true, value: map[string]any{"a": map[string]any{"b": int64(0)}}}
		sub := &Subscriber{Keys: []string{"k"}, ownCopy: own}
		sub.Mailbox.init(100, nil, nil)
		ks.subs.add(sub)
		ks.subs.given(sub)
		var roots []any
		for i := range 3 {
			ops := []delta.Op{{Op: delta.OpUpdate, Path: "/a/b", Value: int64(i + 1)}}
			v, init, err := ks.own.ApplyState(ks.value, ks.initialized, ops, -1)
			if err != nil {
				t.Fatal(err)
			}
			ks.value, ks.initialized = v, init
			s.deliverDelta(ks, ops, -1, KindDelta)
			roots = append(roots, v)
		}
		same := sameContainer(roots[1], roots[2])
		if same != own {
			t.Errorf("own copy %v: the second and third values are the same map: %v", own, same)
		}
	}
}

// sameContainer reports whether a and b are the very same map.
func sameContainer(a, b any) bool {
	ma, ok1 := a.(map[string]any)
	mb, ok2 := b.(map[string]any)
	if !ok1 || !ok2 {
		return false
	}
	ma["__probe"] = true
	_, same := mb["__probe"]
	delete(ma, "__probe")
	return same
}

// TestDeliveryLayout keeps Delivery at the size its doc states on 64-bit
// platforms: every update waiting for a buffered reader is one.
func TestDeliveryLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) == 8 && unsafe.Sizeof(Delivery{}) != 120 {
		t.Errorf("Delivery takes %d bytes, want 120", unsafe.Sizeof(Delivery{}))
	}
}

// TestFailedApplyInPlaceIsResynced: a delta whose first op applies and whose
// second fails leaves the cached copy changed in place where no one was
// given it (here only a subscriber with its own copy watches the key). The
// fresh value must then reach the subscriber even when it equals what the
// failed delta left behind, as after a move to another server, whose
// versions are not compared.
func TestFailedApplyInPlaceIsResynced(t *testing.T) {
	s := &Session{keys: map[string]*keyState{},
		log: slog.New(slog.DiscardHandler), evq: newEventQueue(16), peer: peer{source: "A"}}
	ks := &keyState{key: "k", have: true, seeded: true, initialized: true, version: 1, src: "A", phase: kpLive,
		value: map[string]any{"a": int64(1), "l": []any{int64(1)}}}
	s.keys["k"] = ks
	sub := &Subscriber{Keys: []string{"k"}, ownCopy: true}
	sub.Mailbox.init(100, nil, nil)
	ks.subs.add(sub)
	ks.subs.given(sub)
	var copies OwnCopies
	copies.Resolve(Delivery{Key: "k", Value: ks.value, Version: 1, Initialized: true, Kind: KindSnapshot})
	next := func() (Delivery, bool) {
		d, ok := sub.Mailbox.Next()
		if ok {
			d = copies.Resolve(d)
		}
		return d, ok
	}

	update := func(v int64) delta.Op { return delta.Op{Op: delta.OpUpdate, Path: "/a", Value: v} }
	s.onDelta(wire.Frame{Type: wire.TypeDelta}, &wire.Delta{State: "k", Version: 2, Ops: []delta.Op{update(2)}})
	if d, ok := next(); !ok || d.Value.(map[string]any)["a"] != int64(2) {
		t.Fatalf("version 2: %#v, %v", d, ok)
	}
	s.onDelta(wire.Frame{Type: wire.TypeDelta}, &wire.Delta{State: "k", Version: 3,
		Ops: []delta.Op{update(3), {Op: delta.OpRemove, Path: "/l/5"}}})
	if d, ok := next(); ok {
		t.Fatalf("a delta that does not apply was delivered: %#v", d)
	}
	s.peer.source = "B"
	ks.phase = kpWatching // the WATCH of the resync went out (the session is not live here)
	s.onStateInit(wire.Frame{Type: wire.TypeStateInit}, &wire.StateInit{State: "k", Version: 40, Initialized: true,
		Value: map[string]any{"a": int64(3), "l": []any{int64(1)}}})
	d, ok := next()
	if !ok || d.Kind != KindResync || d.Value.(map[string]any)["a"] != int64(3) {
		t.Fatalf("after the fresh value: %#v, %v; want a resync to a = 3", d, ok)
	}
}

// recordingReceiver keeps what it is given.
type recordingReceiver struct{ got []Delivery }

func (r *recordingReceiver) Deliver(d Delivery, _, _ <-chan struct{}) bool {
	r.got = append(r.got, d)
	return true
}
func (r *recordingReceiver) Finish(error) {}

// TestPumpResolvesOwnCopies checks that the pump of a subscriber that keeps
// its own copies hands its Receiver finished updates: the value made from
// the copy and the changed paths, never the ops; and that a key forgotten
// loses its copy, so a change that follows is an error, not applied to a
// stale copy.
func TestPumpResolvesOwnCopies(t *testing.T) {
	for _, shared := range []bool{false, true} {
		s := &Session{done: make(chan struct{})}
		rec := &recordingReceiver{}
		sub := &Subscriber{Keys: []string{"k"}, Receiver: rec}
		sub.KeepOwnCopy(shared)
		sub.Mailbox.init(10, nil, nil)
		sub.Mailbox.Push(Delivery{Key: "k", Value: map[string]any{"a": int64(1)}, Version: 1, Initialized: true, Kind: KindSnapshot})
		sub.Mailbox.Push(Delivery{Key: "k", Version: 2, Initialized: true, Kind: KindDelta, Limit: 10,
			Ops: []delta.Op{{Op: delta.OpUpdate, Path: "/a", Value: int64(2)}}})
		sub.Mailbox.Push(Delivery{Key: "k", Kind: KindForget})
		sub.Mailbox.Push(Delivery{Key: "k", Version: 3, Initialized: true, Kind: KindDelta, Limit: 10,
			Ops: []delta.Op{{Op: delta.OpUpdate, Path: "/a", Value: int64(3)}}})
		s.pump(sub)
		if len(rec.got) != 4 {
			t.Fatalf("shared %v: %d deliveries, want 4", shared, len(rec.got))
		}
		if d := rec.got[0]; d.InPlace == shared || d.Ops != nil {
			t.Fatalf("shared %v: snapshot delivered as %#v", shared, d)
		}
		d := rec.got[1]
		if d.Ops != nil || d.Limit != 0 || d.InPlace == shared || d.Err != nil ||
			d.Value.(map[string]any)["a"] != int64(2) || !slices.Equal(d.Changed, []string{"/a"}) {
			t.Fatalf("shared %v: delta delivered as %#v; want the value made from the copy", shared, d)
		}
		if d := rec.got[2]; d.Kind != KindForget {
			t.Fatalf("shared %v: forget delivered as %#v", shared, d)
		}
		if d := rec.got[3]; !errors.Is(d.Err, ErrDesync) || d.Value != nil {
			t.Fatalf("shared %v: a delta after the key was forgotten delivered as %#v; want ErrDesync", shared, d)
		}
	}
}
