package session

import (
	"maps"
	"testing"
)

// TestSubSet checks the set of a key's subscribers against a map through
// adds, first values and removals, including removals while iterating.
func TestSubSet(t *testing.T) {
	subs := make([]*Subscriber, 5)
	for i := range subs {
		subs[i] = &Subscriber{}
	}
	var ss subSet
	want := map[*Subscriber]bool{}
	check := func(step string) {
		t.Helper()
		got := maps.Collect(ss.all())
		if !maps.Equal(got, want) || ss.len() != len(want) {
			t.Fatalf("%s: set %v (len %d), want %v", step, got, ss.len(), want)
		}
	}
	check("empty")
	for i, sub := range subs {
		ss.add(sub)
		want[sub] = false
		if i%2 == 0 {
			ss.given(sub)
			want[sub] = true
		}
		check("add")
	}
	ss.add(subs[0]) // added again: no first value yet
	want[subs[0]] = false
	check("add again")
	ss.remove(subs[0])
	delete(want, subs[0])
	check("remove the inline one")
	ss.given(subs[0]) // not in the set: nothing
	check("given to a removed one")
	ss.add(subs[0])
	want[subs[0]] = false
	check("add into the free inline place")
	for sub, got := range ss.all() {
		if got != want[sub] {
			t.Fatalf("iteration: %v got %v, want %v", sub, got, want[sub])
		}
		ss.given(sub)
		ss.remove(sub)
		delete(want, sub)
	}
	check("removed while iterating")
	if ss.more != nil || ss.one != nil {
		t.Fatalf("empty set holds %v and %v", ss.one, ss.more)
	}
	ss.add(subs[1])
	want[subs[1]] = false
	check("one again")
	if ss.more != nil {
		t.Fatal("a single subscriber made a map")
	}
}
