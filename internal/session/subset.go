package session

import "iter"

// subSet is the set of a key's subscribers, each with whether it has had a
// first value of the key. Most keys have one subscriber: it is kept inline,
// and a map is made only for the others.
type subSet struct {
	one    *Subscriber // nil when free
	more   map[*Subscriber]bool
	oneGot bool
}

func (ss *subSet) len() int {
	n := len(ss.more)
	if ss.one != nil {
		n++
	}
	return n
}

// add puts sub in the set, not yet given a first value.
func (ss *subSet) add(sub *Subscriber) {
	if ss.one == sub {
		ss.oneGot = false
		return
	}
	if _, ok := ss.more[sub]; ok {
		ss.more[sub] = false
		return
	}
	if ss.one == nil {
		ss.one, ss.oneGot = sub, false
		return
	}
	if ss.more == nil {
		ss.more = make(map[*Subscriber]bool)
	}
	ss.more[sub] = false
}

// given records that sub, in the set, has had its first value.
func (ss *subSet) given(sub *Subscriber) {
	if ss.one == sub {
		ss.oneGot = true
		return
	}
	if _, ok := ss.more[sub]; ok {
		ss.more[sub] = true
	}
}

// remove takes sub out of the set.
func (ss *subSet) remove(sub *Subscriber) {
	if ss.one == sub {
		ss.one, ss.oneGot = nil, false
		return
	}
	delete(ss.more, sub)
	if len(ss.more) == 0 {
		ss.more = nil
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
		for sub, got := range ss.more {
			if !yield(sub, got) {
				return
			}
		}
	}
}
