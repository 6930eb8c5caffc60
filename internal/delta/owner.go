package delta

import (
	"strings"
	"unsafe"
)

// Changing a cached value in place until it is handed out.
//
// [Apply] copies every container on an op's path, since its input may be
// held by anyone. A client's cached copy of a key is mostly held by the
// client alone: what leaves it is the whole value for a subscriber of the
// whole key, or only a part for a subscriber of a part. An [Owner] lets the
// copy be changed in place wherever no one outside has been given it.
//
// The Owner records the containers (maps, and arrays by their backing
// array) that its own applies allocated and that have not been handed out
// since. The invariants are:
//
//  1. An owned container is reachable only through the current value, from
//     one slot of one owned parent (or as the value itself), and no one
//     outside the Owner's user holds it.
//  2. Every ancestor of an owned container is owned. Freeze therefore
//     disowns the handed-out value together with every owned container
//     below it, and a container copied from one that is not owned (whose
//     children, by this rule, are not owned either) starts with no owned
//     children.
//  3. A container taken out of the value (overwritten or removed) is
//     disowned with everything owned below it, so the record never keeps
//     anything alive that the value no longer holds, and a container
//     allocated later can never be mistaken for an owned one.
//
// Containers from the ops' values, and those of values given to the Owner's
// user from elsewhere (a snapshot from the server), are never owned: they are
// copied on their first write, and the copy is owned from then on. An array
// extended in place by the tail table (see tail.go) shares its backing
// array with headers that may have been handed out, so it is never owned.

// Owner lets [Owner.ApplyState] change in place the containers of one value
// that nobody outside has been given, instead of copying them. The rule
// "a value once handed out never changes" is the caller's half of the
// bargain: before any part of the value (or the whole of it) leaves the
// goroutine that applies the deltas, the caller passes it to
// [Owner.Freeze]; from then on every later apply copies what it would
// change of it, exactly as [Apply] does.
//
// An Owner belongs to one value and is used by one goroutine; the zero Owner
// is ready to use. Its memory is one map entry per owned container.
type Owner struct {
	set  ptrSet
	root any // the value the last ApplyState returned
}

// ptrSet is a set of container addresses. The first few are kept inline:
// an apply usually owns only the containers on one path, and most values
// are handed out after each apply, which empties the set, so a map made
// for each apply would cost an allocation per delta.
type ptrSet struct {
	small [3]unsafe.Pointer
	n     int // entries used in small
	more  map[unsafe.Pointer]struct{}
}

func (s *ptrSet) len() int { return s.n + len(s.more) }

func (s *ptrSet) has(p unsafe.Pointer) bool {
	for _, q := range s.small[:s.n] {
		if q == p {
			return true
		}
	}
	_, ok := s.more[p]
	return ok
}

func (s *ptrSet) add(p unsafe.Pointer) {
	if s.has(p) {
		return
	}
	if s.n < len(s.small) {
		s.small[s.n] = p
		s.n++
		return
	}
	if s.more == nil {
		s.more = make(map[unsafe.Pointer]struct{})
	}
	s.more[p] = struct{}{}
}

func (s *ptrSet) del(p unsafe.Pointer) {
	for i, q := range s.small[:s.n] {
		if q == p {
			s.n--
			s.small[i] = s.small[s.n]
			s.small[s.n] = nil
			return
		}
	}
	delete(s.more, p)
}

func (s *ptrSet) reset() { *s = ptrSet{} }

// ApplyState is [ApplyStateLimit] on a value the Owner may change in place
// (maxNew < 0: no limit on the containers created): v
// must be what the previous call returned (any other value makes the Owner
// forget what it owned and start over, so that nothing of v is changed).
// Containers owned by the Owner are changed in place; the others are copied
// as Apply copies them, and the copies are owned.
//
// On failure the ops before the failing one may have been applied in place
// to v's owned containers, so v must be thrown away; call Reset before the
// Owner is used for another value. What was handed out (see Freeze) is
// unchanged, failure or not.
func (o *Owner) ApplyState(v any, initialized bool, ops []Op, maxNew int) (result any, initializedAfter bool, err error) {
	if o.set.len() > 0 && !identical(v, o.root) {
		o.Reset()
	}
	a := applier{o: o, budget: maxNew}
	result, initializedAfter, err = a.applyAll(v, initialized, ops)
	if err == nil {
		o.root = result
	}
	return result, initializedAfter, err
}

// Freeze records that v, the current value or a part of it, is being handed
// out: nothing reachable from v will be changed by a later ApplyState. It
// costs nothing for a v that holds no owned container, and otherwise one
// step per entry of each owned container below v (for the whole current
// value, the Owner simply forgets everything). Freezing what was frozen
// already, or a value the Owner never saw, is harmless.
func (o *Owner) Freeze(v any) {
	if o.set.len() == 0 {
		return
	}
	if identical(v, o.root) {
		o.Reset()
		return
	}
	o.drop(v)
}

// Reset forgets every owned container: the next ApplyState copies as Apply
// does, whatever its input.
func (o *Owner) Reset() {
	o.set.reset()
	o.root = nil
}

// Owned returns the number of containers the Owner may change in place.
func (o *Owner) Owned() int { return o.set.len() }

func (o *Owner) has(p unsafe.Pointer) bool { return o.set.has(p) }

// drop disowns v, if it is an owned container, and every owned container
// below it. Containers that are not owned have no owned descendants.
func (o *Owner) drop(v any) {
	switch x := v.(type) {
	case map[string]any:
		if x == nil {
			return
		}
		p := mapPtr(x)
		if !o.has(p) {
			return
		}
		o.set.del(p)
		for _, e := range x {
			o.drop(e)
		}
	case []any:
		if cap(x) == 0 {
			return
		}
		p := unsafe.Pointer(unsafe.SliceData(x))
		if !o.has(p) {
			return
		}
		o.set.del(p)
		for _, e := range x {
			o.drop(e)
		}
	}
}

// drop disowns a container taken out of the value (see Owner.drop).
func (a *applier) drop(v any) {
	if a.dropping() {
		a.o.drop(v)
	}
}

// dropping reports whether a container taken out of the value may have to
// be disowned: only an Owner that owns something has any to disown.
func (a *applier) dropping() bool { return a.o != nil && a.o.set.len() > 0 }

// present reports whether a REMOVE of the valid, non-root pointer p would
// find something to remove in v, with the errors Apply gives such a REMOVE
// for arrays.
func present(v any, p string) (bool, error) {
	cur := v
	depth := 0
	for p != "" {
		var seg string
		seg, p = nextSegment(p)
		last := p == ""
		depth++
		switch c := cur.(type) {
		case map[string]any:
			child, ok := c[seg]
			if !ok {
				return false, nil
			}
			cur = child
		case []any:
			n := len(c)
			i, ok := arrayIndex(seg, n)
			if !ok {
				return false, errorf(ErrIndex, "segment %d %q: not an array index", depth, seg)
			}
			if seg == "-" && last {
				i = n - 1
			}
			if i < 0 || i >= n {
				return false, errorf(ErrIndex, "segment %d %q: no such element in an array of length %d", depth, seg, n)
			}
			cur = c[i]
		default:
			return false, nil
		}
	}
	return true, nil
}

// Same reports whether a and b are the same value by identity: the same map,
// the same array (backing array and length), or equal scalars (by [Equal]).
// Since values handed out never change, a part that is Same as one handed
// out earlier holds what it held then; a false answer says nothing, as two
// distinct containers may still be Equal.
func Same(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		if x == nil || y == nil {
			return len(x) == 0 && len(y) == 0
		}
		return mapPtr(x) == mapPtr(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		return len(x) == 0 || unsafe.SliceData(x) == unsafe.SliceData(y)
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return Equal(a, b)
}

// identical reports whether a and b are the same container: the same map or
// the same array (backing array and length). Scalars are never identical.
func identical(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && x != nil && y != nil && mapPtr(x) == mapPtr(y)
	case []any:
		y, ok := b.([]any)
		return ok && cap(x) > 0 && cap(y) > 0 && len(x) == len(y) && unsafe.SliceData(x) == unsafe.SliceData(y)
	}
	return false
}

// Lookup returns the part of v at the decoded pointer segments segs (see
// [ParsePointer]); ok is false when there is none. In an object a segment
// names a field; in an array it must be a decimal index below the length
// ("-", one past the last element, never names anything); a scalar or nil
// has no parts. Zero segments give v itself.
func Lookup(v any, segs []string) (part any, ok bool) {
	cur := v
	for _, seg := range segs {
		switch c := cur.(type) {
		case map[string]any:
			child, found := c[seg]
			if !found {
				return nil, false
			}
			cur = child
		case []any:
			i, ok := arrayIndex(seg, len(c)) // "-" gives len(c)
			if !ok || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Relation is how a changed path relates to a watched part of a value.
type Relation uint8

// Relations reported by [Relate].
const (
	// Apart: the change is neither at, above nor below the part.
	Apart Relation = iota
	// Above: the change is at the part itself or at one of its ancestors,
	// so all of the part may have changed (or appeared, or gone).
	Above
	// Inside: the change is below the part.
	Inside
)

// Relate compares the JSON Pointer p of a change with a part of the value
// given as decoded segments w (see [ParsePointer]). Segments are compared
// decoded and whole, so "/a" and "/ab" are apart, and "/a~1b" is the part
// ["a/b"]. For Inside, rel is p relative to the part, in escaped form and
// starting with "/". A p of "" or "/" is the whole value, above every part;
// a malformed p is taken to be above every part too.
func Relate(p string, w []string) (rel string, r Relation) {
	if p == "" || p == "/" || checkPointer(p) != nil {
		return "", Above
	}
	rest := p
	for _, want := range w {
		if rest == "" {
			return "", Above
		}
		var seg string
		seg, rest = nextSegment(rest)
		if seg != want {
			return "", Apart
		}
	}
	if rest == "" {
		return "", Above
	}
	return rest, Inside
}

// ChangedPath returns the pointer of what op may change: its path, except
// that an op whose last segment is "-" (an append, or a REMOVE of the last
// element) and a REMOVE whose last segment is an array index (a splice that
// moves every later element) may change the whole array, so they give the
// parent's path. The whole value is "/".
func ChangedPath(op Op) string {
	p := op.Path
	if p == "" || p == "/" {
		return "/"
	}
	i := strings.LastIndexByte(p, '/')
	if seg := p[i+1:]; seg == "-" || op.Op == OpRemove && isIndex(seg) {
		p = p[:i]
		if p == "" {
			return "/"
		}
	}
	return p
}
