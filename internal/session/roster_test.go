package session

import "testing"

// TestRosterReleasesEndingOnce checks the tally of attached subscriptions
// and that those held as ending are released once each, in order, and
// not again at the next release.
func TestRosterReleasesEndingOnce(t *testing.T) {
	var r roster
	a, b, c := &Subscriber{}, &Subscriber{}, &Subscriber{}
	r.added()
	r.added()
	r.added()
	r.end(a)
	r.end(b)
	var got []*Subscriber
	detach := func(sub *Subscriber) {
		got = append(got, sub)
		r.detached()
	}
	r.release(detach)
	if len(got) != 2 || got[0] != a || got[1] != b || r.attached != 1 {
		t.Fatalf("released %d (%v), %d attached; want a then b, 1 attached", len(got), got, r.attached)
	}
	got = nil
	r.release(detach)
	if len(got) != 0 {
		t.Fatalf("released again: %v", got)
	}
	r.end(c)
	r.release(detach)
	if len(got) != 1 || got[0] != c || r.attached != 0 {
		t.Fatalf("released %v, %d attached; want c alone, none attached", got, r.attached)
	}
	for _, sub := range r.ending[:cap(r.ending)] {
		if sub != nil {
			t.Fatal("a released subscription is still referenced by the roster")
		}
	}
}
