package session

import (
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/sodp-go/client/internal/delta"
)

var propKeys = []string{"a", "ab", "0", "1", "2", "-", "a/b", "~"}

func propValue(r *rand.Rand, depth int) any {
	if depth <= 0 || r.IntN(3) == 0 {
		return int64(r.IntN(3))
	}
	if r.IntN(2) == 0 {
		a := make([]any, r.IntN(4))
		for i := range a {
			a[i] = propValue(r, depth-1)
		}
		return a
	}
	m := map[string]any{}
	for range r.IntN(4) {
		m[propKeys[r.IntN(len(propKeys))]] = propValue(r, depth-1)
	}
	return m
}

// propPath picks a path that mostly leads somewhere in v.
func propPath(r *rand.Rand, v any) []string {
	var segs []string
	for r.IntN(4) != 0 {
		switch x := v.(type) {
		case map[string]any:
			if len(x) > 0 && r.IntN(5) != 0 {
				k := slices.Sorted(maps.Keys(x))[r.IntN(len(x))]
				segs, v = append(segs, k), x[k]
				continue
			}
			segs, v = append(segs, propKeys[r.IntN(len(propKeys))]), nil
		case []any:
			if r.IntN(6) == 0 {
				segs, v = append(segs, "-"), nil
				continue
			}
			i := r.IntN(len(x) + 1)
			segs = append(segs, strconv.Itoa(i))
			if i < len(x) {
				v = x[i]
			} else {
				v = nil
			}
		default:
			return segs
		}
	}
	return segs
}

func propOps(r *rand.Rand, v any) []delta.Op {
	ops := make([]delta.Op, 1+r.IntN(3))
	for i := range ops {
		kind := []string{delta.OpAdd, delta.OpUpdate, delta.OpRemove}[r.IntN(3)]
		ops[i] = delta.Op{Op: kind, Path: delta.FormatPointer(propPath(r, v)), Value: propValue(r, 2)}
	}
	return ops
}

// TestPartNeverMissesAChange applies random deltas to a key watched by
// random parts (and sometimes the whole value) and checks, after each
// delta, every part's subscription against a full comparison: a part that
// differs from what its subscriber was last given is always delivered, with
// the exact part; a delivery always carries a non-nil Changed; and nothing
// handed out ever changes.
func TestPartNeverMissesAChange(t *testing.T) {
	for seed := range uint64(200) {
		r := rand.New(rand.NewPCG(seed, 99))
		s := &Session{}
		ks := &keyState{key: "k", own: new(delta.Owner), have: true, initialized: true, value: propValue(r, 4)}
		type watcher struct {
			sub      *Subscriber
			has      bool
			part     any
			given    []any // what was handed out, and a copy of it
			givenCpy []any
		}
		var ws []*watcher
		for range 6 {
			path := propPath(r, ks.value)
			sub := &Subscriber{Keys: []string{"k"}, Part: &Part{Path: path}}
			sub.Mailbox.init(1000, nil, nil)
			ks.subs.add(sub)
			ks.subs.given(sub)
			w := &watcher{sub: sub}
			w.part, w.has = partOf(ks, sub)
			sub.Part.last, sub.Part.lastHas = w.part, w.has
			ks.own.Freeze(w.part)
			ws = append(ws, w)
		}
		if r.IntN(3) == 0 {
			sub := &Subscriber{Keys: []string{"k"}}
			sub.Mailbox.init(1000, nil, nil)
			ks.subs.add(sub)
			ks.subs.given(sub)
		}
		for step := range 40 {
			ops := propOps(r, ks.value)
			v, init, err := ks.own.ApplyState(ks.value, ks.initialized, ops, -1)
			if err != nil {
				ks.own.Reset()
				continue
			}
			ks.value, ks.initialized, ks.version = v, init, ks.version+1
			s.deliverDelta(ks, ops, -1, KindDelta)
			for i, w := range ws {
				part, has := delta.Lookup(ks.value, w.sub.Part.Path)
				has = has && ks.initialized
				d, got := w.sub.Mailbox.Next()
				changed := has != w.has || has && !delta.Equal(part, w.part)
				if changed && !got {
					t.Fatalf("seed %d step %d: part %q changed from %v to %v under %v, not delivered", seed, step, w.sub.Part.Path, w.part, part, ops)
				}
				if got {
					if d.Initialized != has || has && !delta.Equal(d.Value, part) || d.Changed == nil || d.Version != ks.version {
						t.Fatalf("seed %d step %d: part %q: delivered %+v, want %v (present %v)", seed, step, w.sub.Part.Path, d, part, has)
					}
					w.given = append(w.given, d.Value)
					w.givenCpy = append(w.givenCpy, deepCopy(d.Value))
					w.part, w.has = part, has
				}
				if _, more := w.sub.Mailbox.Next(); more {
					t.Fatalf("seed %d step %d: watcher %d got two updates for one delta", seed, step, i)
				}
				for j := range w.given {
					if !reflect.DeepEqual(w.given[j], w.givenCpy[j]) {
						t.Fatalf("seed %d step %d: a part handed out to %q changed", seed, step, w.sub.Part.Path)
					}
				}
			}
			for sub := range ks.subs.all() {
				if sub.Part == nil {
					for _, ok := sub.Mailbox.Next(); ok; _, ok = sub.Mailbox.Next() {
					}
				}
			}
		}
	}
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	case []any:
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	}
	return v
}
