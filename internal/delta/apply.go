package delta

import (
	"maps"
	"reflect"
	"unsafe"
)

// Apply applies ops, in order, to v and returns the resulting value. v and
// everything reachable from it are left unchanged; the result shares every
// container off the changed paths with v, and shares the ops' values.
//
// The rules:
//
//   - A path of "" or "/" is the whole value: ADD and UPDATE replace it,
//     REMOVE makes it nil and deletes the key.
//   - In an object, ADD and UPDATE set the field (creating or replacing it);
//     REMOVE deletes it.
//   - In an array, the segment "-" stands for one past the last element and a
//     decimal index N (no sign, no leading zeros) for element N. ADD and UPDATE
//     append for "-" and for N equal to the length, replace element N below
//     the length, and fail with ErrIndex above it. REMOVE of "-" drops the
//     last element and REMOVE of N splices element N out; both fail with
//     ErrIndex when there is no such element. Any other segment is ErrIndex.
//   - When ADD or UPDATE descends into nil, a missing field or element, or a
//     scalar, it puts a new container there: an array if the next segment is
//     "-" or a decimal index, else an object. ADD "/-" "x" on nil gives
//     ["x"]; ADD "/a/b" 1 on {"a":5} gives {"a":{"b":1}}; ADD "/a/3" 1 on nil
//     is ErrIndex, since the new array is empty.
//   - A REMOVE of a path that is not there changes nothing and is not an
//     error: a field missing from its object, or a path that runs through
//     nil, a missing field or a scalar (REMOVE "/a/c" on {"a":{"b":1}},
//     REMOVE "/x/y" on {}). Servers send such REMOVEs — one publishes a
//     REMOVE for every presence entry of a session that ended, whether or
//     not the entry is still there — and the server's value is the same
//     either way. Arrays stay strict: a REMOVE whose path uses "-" or an
//     index at or past the end of an array, or a segment that is not an
//     index, is ErrIndex.
//   - Ops whose Op is not exactly "ADD", "UPDATE" or "REMOVE" fail with
//     ErrUnknownOp, and malformed paths with ErrBadPointer (see
//     [ParsePointer]), whatever the op and the value.
//
// deleted reports whether the key ends up deleted: it is true when the last
// op that changed something is a REMOVE of the whole value. Any later
// successful ADD or UPDATE, at any path, stores a value, so the key holds a
// value again and deleted is false; a later REMOVE that changes nothing
// leaves it as it was. With no ops, or only ops that change nothing, Apply
// returns v and false (see [ApplyState] to keep a deleted key deleted).
//
// On failure Apply returns a nil value, false and an *[OpError] naming the
// first op that failed; the ops before it are not applied to anything the
// caller can see, and the local copy should be treated as out of sync with
// the server.
//
// The cost of an op follows its path: each container on the path is copied
// (or, for a large array being appended to, extended in place where no other
// value can observe it — see the package documentation). Within one call, a
// container that an earlier op of the same call created is changed in place
// instead of being copied again.
func Apply(v any, ops []Op) (result any, deleted bool, err error) {
	result, initialized, err := ApplyState(v, true, ops)
	if err != nil {
		return nil, false, err
	}
	return result, !initialized, nil
}

// ApplyState is [Apply] for a key's cached copy: initialized says whether
// the key holds a value before the ops (false for a key deleted or never
// written, whose value is nil), and initializedAfter whether it holds one
// after them. A REMOVE of the whole value deletes the key, any other op
// that succeeds and changes something stores a value, and an op that
// changes nothing (a REMOVE of a path that is not there) leaves the key as
// it was, so a delta of such REMOVEs on a deleted key keeps it deleted. On
// failure it returns nil, false and an *[OpError], as Apply does.
func ApplyState(v any, initialized bool, ops []Op) (result any, initializedAfter bool, err error) {
	return ApplyStateLimit(v, initialized, ops, -1)
}

// ApplyStateLimit is [ApplyState] that creates at most maxNew new objects
// and arrays where a path runs through nil, a missing field or a scalar
// (maxNew < 0: no limit). Ops that would create more fail with ErrLimit,
// so what a delta makes the value hold stays in proportion to the
// delta's size: a path of many segments through nothing would otherwise
// build one object per segment.
func ApplyStateLimit(v any, initialized bool, ops []Op, maxNew int) (result any, initializedAfter bool, err error) {
	a := applier{multi: len(ops) > 1, budget: maxNew}
	return a.applyAll(v, initialized, ops)
}

// applyAll applies ops to v in order; initialized says whether the key
// holds a value, and the result says whether it still does.
func (a *applier) applyAll(v any, initialized bool, ops []Op) (result any, initializedAfter bool, err error) {
	cur := v
	for i := range ops {
		var deleted, noop bool
		cur, deleted, noop, err = a.apply(cur, &ops[i])
		if err != nil {
			return nil, false, &OpError{Index: i, Op: ops[i], Err: err}
		}
		if !noop {
			initialized = !deleted
		}
	}
	return cur, initialized, nil
}

// applier carries the state of one Apply call: the set of containers (map
// pointers and backing-array pointers) allocated during this call. Only the
// value under construction refers to them, each from one place, so they may
// be changed in place. The set is kept only when there is more than one op;
// a single op visits each container once. It lives in a small inline array
// and moves to a map when that fills up.
type applier struct {
	multi  bool
	budget int    // new containers the ops may still create; < 0: no limit
	o      *Owner // set by Owner.ApplyState: ownership outlives the call
	n      int
	few    [16]unsafe.Pointer
	many   map[unsafe.Pointer]struct{}
}

// own records p as a container this apply may change in place: in the
// Owner's set when there is one (it outlives the call), else in the
// call's own record, which a single op does not need.
func (a *applier) own(p unsafe.Pointer) {
	switch {
	case a.o != nil:
		a.o.set.add(p)
	case !a.multi:
	case a.many != nil:
		a.many[p] = struct{}{}
	case a.n < len(a.few):
		a.few[a.n] = p
		a.n++
	default:
		a.many = make(map[unsafe.Pointer]struct{}, 2*len(a.few))
		for _, q := range a.few {
			a.many[q] = struct{}{}
		}
		a.many[p] = struct{}{}
	}
}

func (a *applier) owns(p unsafe.Pointer) bool {
	if a.o != nil {
		return a.o.set.has(p)
	}
	if a.many != nil {
		_, ok := a.many[p]
		return ok
	}
	for _, q := range a.few[:a.n] {
		if q == p {
			return true
		}
	}
	return false
}

func (a *applier) ownMap(m map[string]any) { a.own(mapPtr(m)) }

func (a *applier) ownsMap(m map[string]any) bool {
	return (a.o != nil || a.multi) && m != nil && a.owns(mapPtr(m))
}

// ownSlice records s's backing array. Arrays without capacity have no
// storage of their own and are never owned.
func (a *applier) ownSlice(s []any) {
	if cap(s) > 0 {
		a.own(unsafe.Pointer(unsafe.SliceData(s)))
	}
}

func (a *applier) ownsSlice(s []any) bool {
	return (a.o != nil || a.multi) && cap(s) > 0 && a.owns(unsafe.Pointer(unsafe.SliceData(s)))
}

func mapPtr(m map[string]any) unsafe.Pointer { return reflect.ValueOf(m).UnsafePointer() }

// writableMap returns m itself when this call owns it, else a copy (a new
// empty map for a nil m); copied tells which.
func (a *applier) writableMap(m map[string]any) (w map[string]any, copied bool) {
	if a.ownsMap(m) {
		return m, false
	}
	var c map[string]any
	if m == nil {
		c = make(map[string]any, 1)
	} else {
		c = maps.Clone(m)
	}
	a.ownMap(c)
	return c, true
}

// writableSlice returns s itself when this call owns it, else a copy.
func (a *applier) writableSlice(s []any) []any {
	if a.ownsSlice(s) {
		return s
	}
	c := make([]any, len(s))
	copy(c, s)
	a.ownSlice(c)
	return c
}

// appendElem appends v to s without changing anything visible through s.
func (a *applier) appendElem(s []any, v any) []any {
	if out, ok := appendInPlace(s, v); ok {
		return out
	}
	out := appendCopy(s, v)
	if a.o != nil && a.ownsSlice(s) {
		// The elements, owned ones included, move to the new array.
		a.o.set.del(unsafe.Pointer(unsafe.SliceData(s)))
	}
	a.ownSlice(out)
	return out
}

// removeElem returns s without element i (0 <= i < len(s)), without
// changing anything visible through s unless this call owns s.
func (a *applier) removeElem(s []any, i int) []any {
	a.drop(s[i])
	n := len(s)
	if a.ownsSlice(s) {
		copy(s[i:], s[i+1:])
		s[n-1] = nil
		return s[: n-1 : n-1]
	}
	switch i {
	case n - 1:
		return s[: n-1 : n-1]
	case 0:
		return s[1:n:n]
	}
	c := make([]any, n-1)
	copy(c, s[:i])
	copy(c[i:], s[i+1:])
	a.ownSlice(c)
	return c
}

// slot is where the container being rebuilt at the current depth is stored:
// the result itself, a field of an (owned or freshly copied) object, or an
// element of an (owned or freshly copied) array.
type slot struct {
	m   map[string]any
	s   []any
	key string
	idx int
}

// apply applies one op. deleted reports that the op was a REMOVE of the
// whole value; noop that it was a REMOVE of a path that is not there, which
// returns v itself.
func (a *applier) apply(v any, op *Op) (result any, deleted, noop bool, err error) {
	remove := false
	switch op.Op {
	case OpAdd, OpUpdate:
	case OpRemove:
		remove = true
	default:
		return nil, false, false, errorf(ErrUnknownOp, "%q", op.Op)
	}
	p := op.Path
	if p == "" || p == "/" {
		if a.o != nil {
			a.o.Reset()
		}
		if remove {
			return nil, true, false, nil
		}
		return op.Value, false, false, nil
	}
	if err := checkPointer(p); err != nil {
		return nil, false, false, err
	}
	if remove && a.o != nil {
		// Containers are changed in place here, so a REMOVE that turns
		// out to change nothing must be found before anything is written.
		if there, err := present(v, p); err != nil || !there {
			return v, false, err == nil, err
		}
	}

	var (
		root any
		at   slot // where the container at this depth goes; at.m == nil && at.s == nil means root
	)
	put := func(c any) {
		switch {
		case at.m != nil:
			at.m[at.key] = c
		case at.s != nil:
			at.s[at.idx] = c
		default:
			root = c
		}
	}
	cur := v
	depth := 0
	for {
		var seg string
		seg, p = nextSegment(p)
		last := p == ""
		depth++
		switch c := cur.(type) {
		case map[string]any:
			var child any
			if remove || !last {
				var found bool
				if child, found = c[seg]; remove && !found {
					// Nothing to remove. The containers copied on the
					// way down are dropped; v is unchanged.
					return v, false, true, nil
				}
			}
			m, copied := a.writableMap(c)
			if copied || at.m == nil && at.s == nil {
				// A map changed in place is already in its slot.
				put(m)
			}
			if last {
				if a.dropping() {
					a.drop(m[seg])
				}
				if remove {
					delete(m, seg)
				} else {
					m[seg] = op.Value
				}
				return root, false, false, nil
			}
			at = slot{m: m, key: seg}
			cur = child

		case []any:
			n := len(c)
			i, ok := arrayIndex(seg, n)
			if !ok {
				return nil, false, false, errorf(ErrIndex, "segment %d %q: not an array index", depth, seg)
			}
			if remove {
				if seg == "-" && last {
					i = n - 1
				}
				if i < 0 || i >= n {
					return nil, false, false, errorf(ErrIndex, "segment %d %q: no such element in an array of length %d", depth, seg, n)
				}
				if last {
					put(a.removeElem(c, i))
					return root, false, false, nil
				}
				s := a.writableSlice(c)
				put(s)
				at = slot{s: s, idx: i}
				cur = s[i]
				continue
			}
			if i > n {
				return nil, false, false, errorf(ErrIndex, "segment %d %q: past the end of an array of length %d", depth, seg, n)
			}
			var s []any
			if i == n {
				var elem any
				if last {
					elem = op.Value
				}
				s = a.appendElem(c, elem)
				cur = nil
			} else {
				s = a.writableSlice(c)
				cur = s[i]
				if last {
					a.drop(s[i])
					s[i] = op.Value
				}
			}
			put(s)
			if last {
				return root, false, false, nil
			}
			at = slot{s: s, idx: i}

		default:
			if remove {
				// The path runs through nil, a missing field or a
				// scalar: nothing to remove.
				return v, false, true, nil
			}
			if a.budget == 0 {
				return nil, false, false, errorf(ErrLimit, "segment %d %q: the delta creates more new objects and arrays than allowed", depth, seg)
			}
			a.budget-- // from any negative value: still no limit
			if seg == "-" || isIndex(seg) {
				if seg != "-" && seg != "0" {
					return nil, false, false, errorf(ErrIndex, "segment %d %q: past the end of a new, empty array", depth, seg)
				}
				var elem any
				if last {
					elem = op.Value
				}
				s := []any{elem}
				a.ownSlice(s)
				put(s)
				if last {
					return root, false, false, nil
				}
				at = slot{s: s, idx: 0}
			} else {
				var elem any
				if last {
					elem = op.Value
				}
				m := map[string]any{seg: elem}
				a.ownMap(m)
				put(m)
				if last {
					return root, false, false, nil
				}
				at = slot{m: m, key: seg}
			}
			cur = nil
		}
	}
}
