package delta

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// deepCopy copies every container of a normalised value.
func deepCopy(v any) any {
	switch x := v.(type) {
	case []any:
		if x == nil {
			return []any(nil)
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = deepCopy(e)
		}
		return c
	case map[string]any:
		if x == nil {
			return map[string]any(nil)
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = deepCopy(e)
		}
		return c
	}
	return v
}

// sameValue is a type-strict deep equality: int64(1) and float64(1) differ,
// floats compare by bits (so NaN matches NaN), and a nil container matches an
// empty one of the same type.
func sameValue(a, b any) bool {
	switch x := a.(type) {
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameValue(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !sameValue(xv, yv) {
				return false
			}
		}
		return true
	case float64:
		y, ok := b.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case nil, bool, string, int64, uint64:
		return a == b
	}
	return fmt.Sprintf("%T %#v", a, a) == fmt.Sprintf("%T %#v", b, b)
}

// refApply is a deliberately simple model of Apply: it deep-copies the
// input and the op values and then changes the copy in place.
func refApply(v any, ops []Op) (any, bool, int, error) {
	cur := deepCopy(v)
	deleted := false
	for i, op := range ops {
		remove := false
		switch op.Op {
		case OpAdd, OpUpdate:
		case OpRemove:
			remove = true
		default:
			return nil, false, i, ErrUnknownOp
		}
		segs, err := ParsePointer(op.Path)
		if err != nil {
			return nil, false, i, ErrBadPointer
		}
		wasDeleted := deleted
		deleted = false
		if len(segs) == 0 {
			if remove {
				cur, deleted = nil, true
			} else {
				cur = deepCopy(op.Value)
			}
			continue
		}
		next, err := refSet(cur, segs, remove, op.Value)
		if errors.Is(err, errRefNoop) {
			deleted = wasDeleted // nothing changed
			continue
		}
		if err != nil {
			return nil, false, i, err
		}
		cur = next
	}
	return cur, deleted, -1, nil
}

func refIndex(seg string) (int, bool) {
	if seg == "" || (len(seg) > 1 && seg[0] == '0') {
		return 0, false
	}
	for _, c := range seg {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(seg)
	if err != nil {
		return math.MaxInt, true
	}
	return n, true
}

// errRefNoop: a REMOVE of a path that is not there, which changes nothing.
var errRefNoop = errors.New("nothing to remove")

// refSet changes cur in place along segs; it changes nothing when it fails.
func refSet(cur any, segs []string, remove bool, val any) (any, error) {
	seg, rest := segs[0], segs[1:]
	last := len(rest) == 0
	switch c := cur.(type) {
	case map[string]any:
		if c == nil {
			c = map[string]any{}
		}
		child, ok := c[seg]
		if remove && !ok {
			return nil, errRefNoop
		}
		if last {
			if remove {
				delete(c, seg)
			} else {
				c[seg] = deepCopy(val)
			}
			return c, nil
		}
		child, err := refSet(child, rest, remove, val)
		if err != nil {
			return nil, err
		}
		c[seg] = child
		return c, nil
	case []any:
		var idx int
		if seg == "-" {
			idx = len(c)
			if remove && last {
				idx = len(c) - 1
			}
		} else {
			var ok bool
			if idx, ok = refIndex(seg); !ok {
				return nil, ErrIndex
			}
		}
		if remove {
			if idx < 0 || idx >= len(c) {
				return nil, ErrIndex
			}
			if last {
				return append(c[:idx], c[idx+1:]...), nil
			}
		} else {
			if idx > len(c) {
				return nil, ErrIndex
			}
			if idx == len(c) {
				c = append(c, nil)
			}
			if last {
				c[idx] = deepCopy(val)
				return c, nil
			}
		}
		child, err := refSet(c[idx], rest, remove, val)
		if err != nil {
			return nil, err
		}
		c[idx] = child
		return c, nil
	}
	if remove {
		return nil, errRefNoop
	}
	if _, ok := refIndex(seg); ok || seg == "-" {
		return refSet([]any{}, segs, remove, val)
	}
	return refSet(map[string]any{}, segs, remove, val)
}

// errKind returns the sentinel an error wraps, or the error itself.
func errKind(err error) error {
	for _, k := range []error{ErrUnknownOp, ErrBadPointer, ErrIndex} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

// checkAgainstRef applies ops with Apply and with refApply and fails t when
// they disagree, when Apply changed its input, or when the error is not an
// *OpError with the right index and op.
func checkAgainstRef(t testing.TB, v any, ops []Op) (any, error) {
	t.Helper()
	before := deepCopy(v)
	opsBefore := make([]Op, len(ops))
	for i, op := range ops {
		opsBefore[i] = Op{Op: op.Op, Path: op.Path, Value: deepCopy(op.Value)}
	}
	got, gotDel, err := Apply(v, ops)
	want, wantDel, wantIdx, wantErr := refApply(v, ops)
	if !sameValue(v, before) {
		t.Fatalf("Apply changed its input:\nbefore %#v\nafter  %#v\nops %#v", before, v, ops)
	}
	for i := range ops {
		if !sameValue(ops[i].Value, opsBefore[i].Value) {
			t.Fatalf("Apply changed the value of op %d", i)
		}
	}
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("Apply(%#v, %#v): err %v, reference err %v", v, ops, err, wantErr)
	}
	if err != nil {
		var oe *OpError
		if !errors.As(err, &oe) {
			t.Fatalf("error %v is not an *OpError", err)
		}
		if oe.Index != wantIdx || errKind(err) != wantErr {
			t.Fatalf("Apply(%#v, %#v): err %v (index %d), reference %v at %d", v, ops, err, oe.Index, wantErr, wantIdx)
		}
		if oe.Op.Op != ops[oe.Index].Op || oe.Op.Path != ops[oe.Index].Path {
			t.Fatalf("OpError.Op = %#v, want op %d %#v", oe.Op, oe.Index, ops[oe.Index])
		}
		if got != nil || gotDel {
			t.Fatalf("failed Apply returned %#v, %v", got, gotDel)
		}
		return nil, err
	}
	if !sameValue(got, want) || gotDel != wantDel {
		t.Fatalf("Apply(%#v, %#v)\n got %#v deleted=%v\nwant %#v deleted=%v", v, ops, got, gotDel, want, wantDel)
	}
	return got, nil
}

// Random values for property tests.

var testKeys = []string{"a", "b", "c", "", "-", "0", "1", "10", "01", "/", "~", "a/b", "~1", "x~0y", "~/~"}

func randKey(r *rand.Rand) string { return testKeys[r.IntN(len(testKeys))] }

func randScalar(r *rand.Rand) any {
	switch r.IntN(9) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return int64(r.IntN(7) - 3)
	case 3:
		return r.Int64() - math.MaxInt64/2
	case 4:
		return uint64(math.MaxInt64) + 1 + uint64(r.IntN(3))
	case 5:
		return float64(r.IntN(5)) / 2
	case 6:
		if r.IntN(20) == 0 {
			return math.NaN()
		}
		return r.NormFloat64()
	default:
		return randKey(r)
	}
}

func randValue(r *rand.Rand, depth int) any {
	if depth <= 0 {
		return randScalar(r)
	}
	switch r.IntN(6) {
	case 0, 1:
		n := r.IntN(5)
		if r.IntN(30) == 0 {
			n = tailMin - 2 + r.IntN(4)
		}
		a := make([]any, n)
		for i := range a {
			a[i] = randValue(r, depth-1)
		}
		return a
	case 2, 3:
		n := r.IntN(6)
		m := make(map[string]any, n)
		for range n {
			m[randKey(r)] = randValue(r, depth-1)
		}
		return m
	}
	return randScalar(r)
}

// mutate returns a value derived from v by a few random changes, sharing
// nothing with v that it changes.
func mutate(r *rand.Rand, v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if r.IntN(8) == 0 {
			return randValue(r, depth)
		}
		c := make(map[string]any, len(x))
		for _, k := range slices.Sorted(maps.Keys(x)) {
			e := x[k]
			switch r.IntN(6) {
			case 0:
				continue // removed
			case 1:
				c[k] = mutate(r, e, depth-1)
			default:
				c[k] = e
			}
		}
		for range r.IntN(3) {
			c[randKey(r)] = randValue(r, depth-1)
		}
		return c
	case []any:
		if r.IntN(3) == 0 {
			c := append([]any(nil), x...)
			if len(c) > 0 {
				i := r.IntN(len(c))
				c[i] = mutate(r, c[i], depth-1)
			}
			return c
		}
	}
	if r.IntN(3) == 0 {
		return v
	}
	return randValue(r, depth)
}

// randPath returns a pointer that often, but not always, leads somewhere in v.
func randPath(r *rand.Rand, v any) string {
	p := ""
	for {
		if r.IntN(4) == 0 {
			break
		}
		var seg string
		switch x := v.(type) {
		case map[string]any:
			if len(x) > 0 && r.IntN(4) != 0 {
				keys := slices.Sorted(maps.Keys(x))
				seg = keys[r.IntN(len(keys))]
			} else {
				seg = randKey(r)
			}
			v = x[seg]
		case []any:
			switch n := r.IntN(8); {
			case n == 0:
				seg = "-"
			case n == 1:
				seg = randKey(r)
			case len(x) > 0:
				seg = strconv.Itoa(r.IntN(len(x) + 1))
			default:
				seg = "0"
			}
			if i, err := strconv.Atoi(seg); err == nil && i < len(x) {
				v = x[i]
			} else {
				v = nil
			}
		default:
			seg = randKey(r)
			v = nil
		}
		p += "/" + EscapeSegment(seg)
	}
	if p == "" && r.IntN(2) == 0 {
		p = "/"
	}
	return p
}

func randOps(r *rand.Rand, v any) []Op {
	ops := make([]Op, r.IntN(5))
	for i := range ops {
		var kind string
		switch n := r.IntN(40); {
		case n == 0:
			kind = "add"
		case n < 14:
			kind = OpAdd
		case n < 27:
			kind = OpUpdate
		default:
			kind = OpRemove
		}
		path := randPath(r, v)
		if r.IntN(40) == 0 {
			path += "~2"
		}
		ops[i] = Op{Op: kind, Path: path, Value: randValue(r, 2)}
	}
	return ops
}
