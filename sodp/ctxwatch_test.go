package sodp

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// fakeStopper records the error it was stopped with.
type fakeStopper struct {
	mu   sync.Mutex
	err  error
	done chan struct{}
}

func newFakeStopper() *fakeStopper { return &fakeStopper{done: make(chan struct{})} }

func (f *fakeStopper) stop(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		panic("stopped twice")
	}
	f.err = err
	close(f.done)
}

// ctxWatch keeps one group, and one context.AfterFunc, per Done channel,
// and none once its subscriptions have all ended or its context has.
func TestCtxWatchGroups(t *testing.T) {
	var w ctxWatch
	groups := func() int {
		w.mu.Lock()
		defer w.mu.Unlock()
		n := len(w.more)
		if w.first != nil {
			n++
		}
		return n
	}
	type key struct{}
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	valued := context.WithValue(parent, key{}, 1)
	a, b, c := newFakeStopper(), newFakeStopper(), newFakeStopper()
	ga := w.add(parent, a)
	gb := w.add(valued, b)
	if ga != gb || groups() != 1 {
		t.Fatalf("contexts sharing a Done channel: groups %p and %p, %d in all", ga, gb, groups())
	}
	w.remove(ga, a)
	w.remove(gb, b)
	if groups() != 0 || !ga.ended || ga.one != nil || len(ga.more) != 0 {
		t.Fatalf("after every subscription ended: %d groups, %+v", groups(), ga)
	}
	if ga.stop() {
		t.Fatal("the group's AfterFunc was not stopped")
	}
	// A new group for the same context; its end stops each subscription
	// with its own context's error, once, and leaves no group.
	ga = w.add(parent, a)
	other, cancelOther := context.WithCancel(context.Background())
	defer cancelOther()
	gc := w.add(other, c)
	if gc == ga || groups() != 2 {
		t.Fatalf("another context: %d groups", groups())
	}
	cancel()
	<-a.done
	if !errors.Is(a.err, context.Canceled) {
		t.Fatalf("stopped with %v", a.err)
	}
	w.remove(ga, a) // the subscription's finish, after its stop
	if groups() != 1 {
		t.Fatalf("after the end of a context: %d groups", groups())
	}
	// A context already ended: the subscription is stopped at once.
	d := newFakeStopper()
	w.add(parent, d)
	<-d.done
	w.remove(gc, c)
	if groups() != 0 {
		t.Fatalf("at the end: %d groups", groups())
	}
	select {
	case <-c.done:
		t.Fatal("a subscription of a live context was stopped")
	default:
	}
	// The group's first subscription ends first: the others are still
	// stopped when the context ends.
	third, cancelThird := context.WithCancel(context.Background())
	e, f := newFakeStopper(), newFakeStopper()
	ge := w.add(third, e)
	w.add(context.WithValue(third, key{}, 2), f)
	w.remove(ge, e)
	cancelThird()
	<-f.done
	if !errors.Is(f.err, context.Canceled) || e.err != nil {
		t.Fatalf("stopped with %v and %v", f.err, e.err)
	}
	if groups() != 0 {
		t.Fatalf("after the third context: %d groups", groups())
	}
}
