package session

import (
	"fmt"
	"maps"
	"testing"
)

// TestSubSet checks the set of a key's subscribers against a map through
// adds, first values and removals, including removals while iterating,
// for sizes that keep the others inline, in the list and in the map.
func TestSubSet(t *testing.T) {
	for _, n := range []int{1, 2, 5, maxSubList + 1, maxSubList + 2, 3 * maxSubList} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			subs := make([]*Subscriber, n)
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
			for _, sub := range []*Subscriber{subs[0], subs[n-1]} {
				ss.add(sub) // added again: no first value yet
				want[sub] = false
				check("add again")
			}
			for _, sub := range []*Subscriber{subs[0], subs[n/2]} {
				ss.remove(sub)
				delete(want, sub)
				check("remove")
				ss.given(sub) // not in the set: nothing
				check("given to a removed one")
			}
			ss.add(subs[0])
			want[subs[0]] = false
			check("add into a free place")
			seen := 0
			for sub, got := range ss.all() {
				seen++
				if got != want[sub] {
					t.Fatalf("iteration: %p got %v, want %v", sub, got, want[sub])
				}
				ss.given(sub)
				if seen%2 == 1 {
					ss.remove(sub)
					delete(want, sub)
				} else {
					want[sub] = true
				}
			}
			if seen != len(subs)-min(1, n/2) {
				t.Fatalf("iteration removing half: %d yielded, want %d", seen, len(subs)-min(1, n/2))
			}
			check("half removed while iterating")
			for sub := range ss.all() {
				ss.remove(sub)
				delete(want, sub)
			}
			check("all removed while iterating")
			if ss.rest != nil || ss.one != nil {
				t.Fatalf("empty set holds %p and %v", ss.one, ss.rest)
			}
			ss.add(subs[0])
			ss.add(subs[n-1])
			want[subs[0]], want[subs[n-1]] = false, false
			check("again")
			if r := ss.rest; n > 1 && (r == nil || r.big != nil) {
				t.Fatalf("two subscribers kept as %v", r)
			}
		})
	}
}
