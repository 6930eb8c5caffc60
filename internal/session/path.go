package session

import (
	"context"

	"github.com/sodp-go/client/internal/delta"
)

// whole is the Changed list that stands for everything.
func whole() []string { return []string{"/"} }

// addChanged appends p to list unless it is there already.
func addChanged(list []string, p string) []string {
	for _, q := range list {
		if q == p {
			return list
		}
	}
	return append(list, p)
}

// changedPaths is the Changed list of a delta for a subscriber of the whole
// value: what each op may have changed (see delta.ChangedPath), each path
// once.
func changedPaths(ops []delta.Op) []string {
	if len(ops) > MaxChanged {
		return whole()
	}
	out := make([]string, 0, len(ops))
	for i := range ops {
		p := delta.ChangedPath(ops[i])
		if p == "/" {
			return whole()
		}
		out = addChanged(out, p)
	}
	return out
}

// MergeChanged merges the Changed lists of two updates a reader gets as
// one (a conflated update): every path of either, each once, or "/" alone
// once either holds it or the list would be longer than MaxChanged. It
// never changes a or b.
func MergeChanged(a, b []string) []string {
	if len(a) == 1 && a[0] == "/" || len(b) == 1 && b[0] == "/" {
		return whole()
	}
	out := make([]string, len(a), len(a)+len(b))
	copy(out, a)
	for _, p := range b {
		out = addChanged(out, p)
	}
	if len(out) > MaxChanged {
		return whole()
	}
	return out
}

// partOf returns the part of ks's value that sub watches; has is false when
// the key holds no value or the value has no such part.
func partOf(ks *keyState, sub *Subscriber) (part any, has bool) {
	if !ks.initialized {
		return nil, false
	}
	return delta.Lookup(ks.value, sub.Part.Path)
}

// partChanged reports whether a part differs from what sub was last given.
// A part that is the same container as the last one (or an equal scalar)
// is unchanged, since what was handed out never changes; otherwise it has
// changed, unless check asks for a full comparison and that finds it equal.
func partChanged(sub *Subscriber, part any, has, check bool) bool {
	switch {
	case has != sub.Part.lastHas:
		return true
	case !has:
		return false
	case delta.Same(part, sub.Part.last):
		return false
	case check:
		return !delta.Equal(part, sub.Part.last)
	}
	return true
}

// pushPart hands a part out to sub, remembering it as what sub was last
// given.
func (s *Session) pushPart(ks *keyState, sub *Subscriber, part any, has bool, kind Kind, changed []string) {
	if has {
		ks.freeze(part)
	} else {
		part = nil
	}
	sub.Part.last, sub.Part.lastHas = part, has
	s.deliver(sub, Delivery{Key: ks.key, Value: part, Version: ks.version, Initialized: has, Kind: kind, Changed: changed})
}

// firstPart gives a subscriber of a part its first value (KindSnapshot or
// KindCached).
func (s *Session) firstPart(ks *keyState, sub *Subscriber, kind Kind) {
	part, has := partOf(ks, sub)
	s.pushPart(ks, sub, part, has, kind, nil)
}

// resyncPart gives a subscriber of a part the part of a fresh value, when
// it differs from what the subscriber was last given.
func (s *Session) resyncPart(ks *keyState, sub *Subscriber) {
	part, has := partOf(ks, sub)
	if partChanged(sub, part, has, true) {
		s.pushPart(ks, sub, part, has, KindResync, nil)
	}
}

// deltaPart gives a subscriber of a part the update of a delta, if an op
// touched the part and the part is not what the subscriber already has.
// Ops at the part or above it change it only if it now differs; ops below
// it change it. Changed lists the ops' paths relative to the part.
func (s *Session) deltaPart(ks *keyState, sub *Subscriber, ops []delta.Op, kind Kind) {
	var rel []string
	touched, above := false, false
	for i := range ops {
		r, how := delta.Relate(delta.ChangedPath(ops[i]), sub.Part.Path)
		switch how {
		case delta.Above:
			touched, above = true, true
		case delta.Inside:
			touched = true
			if !above && len(rel) <= MaxChanged {
				rel = addChanged(rel, r)
			}
		}
	}
	if !touched {
		return
	}
	part, has := partOf(ks, sub)
	if !partChanged(sub, part, has, above) {
		return
	}
	if above || len(rel) > MaxChanged {
		rel = whole()
	}
	s.pushPart(ks, sub, part, has, kind, rel)
}

// CachedPart returns the part at path (decoded segments) of the local copy
// of a watched key; has is false when the copy holds no such part.
func (s *Session) CachedPart(ctx context.Context, key string, path []string) (part any, version uint64, has, ok bool, err error) {
	err = s.do(ctx, func() {
		ks := s.keys[key]
		if ks == nil || !ks.have {
			return
		}
		ok, version = true, ks.version
		if ks.initialized {
			part, has = delta.Lookup(ks.value, path)
		}
		if has {
			ks.freeze(part)
		} else {
			part = nil
		}
	})
	return
}
