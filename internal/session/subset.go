package session

import "iter"

// subSet is the set of a key's subscribers, each with whether it has had a
// first value of the key. Most keys have one subscriber: it is kept inline;
// the others are kept in a short list, and in a map once there are many.
type subSet struct {
	one    *Subscriber // nil when free
	rest   *subRest    // the others; nil when none
	oneGot bool
}

// subRest holds the subscribers of a key past the inline one: in list
// while there are at most maxSubList of them, else in big.
type subRest struct {
	list []subEntry
	big  map[*Subscriber]bool
}

type subEntry struct {
	sub *Subscriber
	got bool
}

// maxSubList is how many subscribers past the first a key keeps in a list
// (found by a linear search) before it makes a map.
const maxSubList = 8

func (ss *subSet) len() int {
	n := 0
	if ss.one != nil {
		n++
	}
	if r := ss.rest; r != nil {
		n += len(r.list) + len(r.big)
	}
	return n
}

// find returns the index of sub in r.list, or -1.
func (r *subRest) find(sub *Subscriber) int {
	for i := range r.list {
		if r.list[i].sub == sub {
			return i
		}
	}
	return -1
}

// add puts sub in the set, not yet given a first value.
func (ss *subSet) add(sub *Subscriber) {
	if ss.one == sub {
		ss.oneGot = false
		return
	}
	r := ss.rest
	if r != nil {
		if i := r.find(sub); i >= 0 {
			r.list[i].got = false
			return
		}
		if _, ok := r.big[sub]; ok {
			r.big[sub] = false
			return
		}
	}
	switch {
	case ss.one == nil:
		ss.one, ss.oneGot = sub, false
	case r == nil:
		ss.rest = &subRest{list: []subEntry{{sub: sub}}}
	case r.big != nil:
		r.big[sub] = false
	case len(r.list) < maxSubList:
		r.list = append(r.list, subEntry{sub: sub})
	default:
		r.big = make(map[*Subscriber]bool, len(r.list)+1)
		for _, e := range r.list {
			r.big[e.sub] = e.got
		}
		r.big[sub] = false
		r.list = nil
	}
}

// has reports whether sub is in the set.
func (ss *subSet) has(sub *Subscriber) bool {
	if ss.one == sub {
		return true
	}
	r := ss.rest
	if r == nil {
		return false
	}
	if r.find(sub) >= 0 {
		return true
	}
	_, ok := r.big[sub]
	return ok
}

// given records that sub, in the set, has had its first value.
func (ss *subSet) given(sub *Subscriber) {
	if ss.one == sub {
		ss.oneGot = true
		return
	}
	r := ss.rest
	if r == nil {
		return
	}
	if i := r.find(sub); i >= 0 {
		r.list[i].got = true
	} else if _, ok := r.big[sub]; ok {
		r.big[sub] = true
	}
}

// remove takes sub out of the set.
func (ss *subSet) remove(sub *Subscriber) {
	if ss.one == sub {
		ss.one, ss.oneGot = nil, false
		return
	}
	r := ss.rest
	if r == nil {
		return
	}
	if i := r.find(sub); i >= 0 {
		last := len(r.list) - 1
		r.list[i] = r.list[last]
		r.list[last] = subEntry{}
		r.list = r.list[:last]
	} else {
		delete(r.big, sub)
	}
	if len(r.list) == 0 && len(r.big) == 0 {
		ss.rest = nil
	}
}

// all yields each subscriber and whether it has had its first value. The
// subscriber yielded may be removed, or marked given, meanwhile; no
// subscriber may be added.
func (ss *subSet) all() iter.Seq2[*Subscriber, bool] {
	return func(yield func(*Subscriber, bool) bool) {
		if sub := ss.one; sub != nil && !yield(sub, ss.oneGot) {
			return
		}
		r := ss.rest
		if r == nil {
			return
		}
		if r.big != nil {
			for sub, got := range r.big {
				if !yield(sub, got) {
					return
				}
			}
			return
		}
		// Backwards: removing the entry yielded moves the last one, which
		// was already yielded, into its place.
		for i := len(r.list) - 1; i >= 0; i-- {
			if i >= len(r.list) {
				continue
			}
			if e := r.list[i]; !yield(e.sub, e.got) {
				return
			}
		}
	}
}
