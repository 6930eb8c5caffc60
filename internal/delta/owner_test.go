package delta

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unsafe"
)

// handedOut is a part given away by a test, with a deep copy of what it held.
type handedOut struct {
	v    any
	want any
}

func randPart(r *rand.Rand, v any) (any, []string) {
	segs, err := ParsePointer(randPath(r, v))
	if err != nil {
		return nil, nil
	}
	part, ok := Lookup(v, segs)
	if !ok {
		return nil, nil
	}
	return part, segs
}

// TestOwnerMatchesApply runs random delta streams through an Owner and
// through Apply side by side: the values stay the same, the errors too, and
// every value handed out (the whole, or random parts) keeps what it held
// when it was frozen, whatever is applied afterwards.
func TestOwnerMatchesApply(t *testing.T) {
	for seed := range uint64(300) {
		r := rand.New(rand.NewPCG(seed, 15))
		ref := randValue(r, 4)
		var o Owner
		cur := deepCopy(ref)
		refInit, curInit := true, true
		var out []handedOut
		for step := range 60 {
			ops := randOps(r, ref)
			want, wantInit, werr := ApplyState(ref, refInit, ops)
			got, gotInit, gerr := o.ApplyState(cur, curInit, deepCopyOps(ops), -1)
			if (werr == nil) != (gerr == nil) || werr != nil && errKind(werr) != errKind(gerr) {
				t.Fatalf("seed %d step %d %v: Apply error %v, Owner error %v", seed, step, ops, werr, gerr)
			}
			if werr != nil {
				// The Owner's copy is to be thrown away: start again
				// from a fresh value.
				ref = randValue(r, 4)
				cur, o = deepCopy(ref), Owner{}
				refInit, curInit = true, true
			} else {
				if !sameValue(want, got) || wantInit != gotInit {
					t.Fatalf("seed %d step %d %v:\nApply %#v %v\nOwner %#v %v", seed, step, ops, want, wantInit, got, gotInit)
				}
				ref, refInit, cur, curInit = want, wantInit, got, gotInit
			}
			switch r.IntN(4) {
			case 0:
				o.Freeze(cur)
				out = append(out, handedOut{cur, deepCopy(cur)})
			case 1:
				if part, segs := randPart(r, cur); segs != nil {
					o.Freeze(part)
					out = append(out, handedOut{part, deepCopy(part)})
				}
			}
			for i, h := range out {
				if !sameValue(h.v, h.want) {
					t.Fatalf("seed %d step %d: value %d handed out changed: now %#v, was %#v", seed, step, i, h.v, h.want)
				}
			}
		}
	}
}

func deepCopyOps(ops []Op) []Op {
	c := make([]Op, len(ops))
	for i, op := range ops {
		c[i] = Op{Op: op.Op, Path: op.Path, Value: deepCopy(op.Value)}
	}
	return c
}

func wide(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m[fmt.Sprintf("e%d", i)] = map[string]any{"v": int64(i), "name": fmt.Sprintf("entry %d", i)}
	}
	return m
}

// TestOwnerInPlace: a delta on one entry of a large map changes the map in
// place once the Owner owns it, and copies it again once it is handed out.
func TestOwnerInPlace(t *testing.T) {
	var o Owner
	v := any(wide(1000))
	orig := v
	ops := []Op{update("/e5/v", int64(-1))}
	v1, _, err := o.ApplyState(v, true, ops, -1)
	if err != nil {
		t.Fatal(err)
	}
	if identical(v1, orig) {
		t.Fatal("the snapshot, not owned, was changed in place")
	}
	if got := orig.(map[string]any)["e5"].(map[string]any)["v"]; got != int64(5) {
		t.Fatalf("snapshot changed: e5.v = %v", got)
	}
	for i := range 10 {
		v2, _, err := o.ApplyState(v1, true, []Op{update(fmt.Sprintf("/e%d/v", i), int64(i+100))}, -1)
		if err != nil {
			t.Fatal(err)
		}
		if !identical(v2, v1) {
			t.Fatalf("delta %d copied the owned map", i)
		}
	}
	if n := o.Owned(); n != 11 {
		t.Fatalf("owned containers: %d, want the map and 10 entries", n)
	}
	part := v1.(map[string]any)["e3"]
	o.Freeze(part)
	if n := o.Owned(); n != 10 {
		t.Fatalf("owned after freezing one entry: %d, want 10", n)
	}
	v3, _, err := o.ApplyState(v1, true, []Op{update("/e3/v", int64(7))}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if !identical(v3, v1) {
		t.Fatal("a delta under a frozen entry copied the (owned) map")
	}
	if got := part.(map[string]any)["v"]; got != int64(103) {
		t.Fatalf("frozen entry changed: v = %v", got)
	}
	o.Freeze(v3)
	if n := o.Owned(); n != 0 {
		t.Fatalf("owned after freezing the whole value: %d", n)
	}
	v4, _, err := o.ApplyState(v3, true, []Op{update("/e4/v", int64(8))}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if identical(v4, v3) || v3.(map[string]any)["e4"].(map[string]any)["v"] != int64(104) {
		t.Fatal("the frozen value was changed in place")
	}
	// Overwriting and removing owned entries disowns them.
	if _, _, err := o.ApplyState(v4, true, []Op{update("/e4", "x"), remove("/e5")}, -1); err != nil {
		t.Fatal(err)
	}
	if n := o.Owned(); n != 1 {
		t.Fatalf("owned after overwriting the owned entry: %d, want the map alone", n)
	}
	// A REMOVE of a missing path writes nothing.
	v5, _, err := o.ApplyState(v4, true, []Op{remove("/e6/missing/deeper")}, -1)
	if err != nil || !identical(v5, v4) {
		t.Fatalf("no-op REMOVE: %v", err)
	}
	if n := o.Owned(); n != 1 {
		t.Fatalf("owned after a no-op REMOVE: %d", n)
	}
	// An input other than the last result is never changed.
	other := wide(3)
	before := deepCopy(other)
	if _, _, err := o.ApplyState(other, true, []Op{update("/e1/v", int64(0))}, -1); err != nil {
		t.Fatal(err)
	}
	if !sameValue(other, before) {
		t.Fatal("a foreign input was changed")
	}
	var idx *OpError
	if _, _, err := o.ApplyState(v5, true, []Op{add("/new/3", int64(1))}, -1); !errors.As(err, &idx) || !errors.Is(err, ErrIndex) {
		t.Fatalf("ADD past the end of a new array: %v", err)
	}
}

// TestOwnerArrays: owned arrays change in place; elements of frozen ones never.
func TestOwnerArrays(t *testing.T) {
	var o Owner
	v := any(map[string]any{"a": []any{int64(0)}})
	var frozen []handedOut
	for i := range 300 {
		var ops []Op
		switch i % 5 {
		case 0, 1, 2:
			ops = []Op{add("/a/-", int64(i))}
		case 3:
			ops = []Op{update("/a/0", int64(-i))}
		case 4:
			ops = []Op{remove("/a/1")}
		}
		var err error
		v, _, err = o.ApplyState(v, true, ops, -1)
		if err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 {
			a := v.(map[string]any)["a"]
			o.Freeze(a)
			frozen = append(frozen, handedOut{a, deepCopy(a)})
		}
		for _, h := range frozen {
			if !sameValue(h.v, h.want) {
				t.Fatalf("step %d: frozen array changed", i)
			}
		}
	}
}

// TestOwnerConcurrentReaders hands parts and whole values to reader
// goroutines, which walk them continuously, while deltas keep being applied.
// Under the race detector any write to a handed-out container is reported.
func TestOwnerConcurrentReaders(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var o Owner
	v := any(wide(200))
	v.(map[string]any)["list"] = make([]any, 0)
	parts := make(chan handedOut, 64)
	var wg sync.WaitGroup
	var bad sync.Once
	var failure string
	for range 2 {
		wg.Go(func() {
			var held []handedOut
			for h := range parts {
				held = append(held, h)
				if len(held) > 16 {
					held = held[1:]
				}
				for _, h := range held {
					if !sameValue(h.v, h.want) {
						bad.Do(func() { failure = fmt.Sprintf("handed-out value changed: %#v", h.v) })
					}
				}
			}
		})
	}
	for i := range 3000 {
		var ops []Op
		switch r.IntN(6) {
		case 0:
			ops = []Op{add("/list/-", map[string]any{"i": int64(i)})}
		case 1:
			ops = []Op{update(fmt.Sprintf("/e%d", r.IntN(200)), map[string]any{"v": int64(i)})}
		case 2:
			if l := v.(map[string]any)["list"].([]any); len(l) > 0 {
				ops = []Op{remove(fmt.Sprintf("/list/%d", r.IntN(len(l))))}
			}
		case 3:
			if l := v.(map[string]any)["list"].([]any); len(l) > 0 {
				ops = []Op{add(fmt.Sprintf("/list/%d/j", r.IntN(len(l))), int64(i))}
			}
		default:
			ops = []Op{update(fmt.Sprintf("/e%d/v", r.IntN(200)), int64(i)), add("/count", int64(i))}
		}
		var err error
		v, _, err = o.ApplyState(v, true, ops, -1)
		if err != nil {
			t.Fatal(err)
		}
		var part any
		switch r.IntN(5) {
		case 0:
			part = v
		case 1:
			part = v.(map[string]any)["list"]
		case 2, 3:
			part = v.(map[string]any)[fmt.Sprintf("e%d", r.IntN(200))]
		}
		if part != nil {
			o.Freeze(part)
			parts <- handedOut{part, deepCopy(part)}
		}
	}
	close(parts)
	wg.Wait()
	if failure != "" {
		t.Fatal(failure)
	}
}

func TestLookupAndSame(t *testing.T) {
	v := map[string]any{"a/b": map[string]any{"~": []any{int64(1), int64(2)}}, "-": true}
	cases := []struct {
		ptr  string
		want any
		ok   bool
	}{
		{"", v, true},
		{"/a~1b/~0/1", int64(2), true},
		{"/a~1b/~0/2", nil, false},
		{"/a~1b/~0/-", nil, false},
		{"/a~1b/~0/01", nil, false},
		{"/-", true, true},
		{"/-/x", nil, false},
		{"/ab", nil, false},
	}
	for _, c := range cases {
		segs, err := ParsePointer(c.ptr)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := Lookup(v, segs)
		if ok != c.ok || !Equal(got, c.want) {
			t.Errorf("Lookup(%q) = %v %v, want %v %v", c.ptr, got, ok, c.want, c.ok)
		}
	}
	a := []any{int64(1)}
	m := map[string]any{}
	if !Same(a, a) || Same(a, []any{int64(1)}) || !Same(m, m) || !Same(int64(1), 1.0) || Same(m, a) {
		t.Error("Same")
	}
}

func TestRelateAndChangedPath(t *testing.T) {
	cases := []struct {
		p, w string
		rel  string
		r    Relation
	}{
		{"/a", "/a", "", Above},
		{"/a", "/ab", "", Apart},
		{"/ab", "/a", "", Apart},
		{"/a", "/a/b", "", Above},
		{"/a/b/c", "/a", "/b/c", Inside},
		{"/a~1b/c", "/a~1b", "/c", Inside},
		{"/a/b", "/a~1b", "", Apart},
		{"/x~0y/~1", "/x~0y", "/~1", Inside},
		{"/", "/a", "", Above},
		{"", "/a", "", Above},
		{"/a", "/", "/a", Inside},
		{"/", "/", "", Above},
		{"/arr/3", "/arr/5", "", Apart},
		{"/arr/0/x", "/arr/0", "/x", Inside},
		{"bad", "/a", "", Above},
	}
	for _, c := range cases {
		w, err := ParsePointer(c.w)
		if err != nil {
			t.Fatal(err)
		}
		rel, r := Relate(c.p, w)
		if rel != c.rel || r != c.r {
			t.Errorf("Relate(%q, %q) = %q %d, want %q %d", c.p, c.w, rel, r, c.rel, c.r)
		}
	}
	paths := []struct {
		op   Op
		want string
	}{
		{add("/a/-", 1), "/a"},
		{remove("/a/-"), "/a"},
		{remove("/a/3"), "/a"},
		{remove("/3"), "/"},
		{remove("/a/03"), "/a/03"},
		{update("/a/3", 1), "/a/3"},
		{add("/a/b", 1), "/a/b"},
		{remove("/a/b"), "/a/b"},
		{update("", 1), "/"},
		{remove("/"), "/"},
		{add("/-", 1), "/"},
	}
	for _, c := range paths {
		if got := ChangedPath(c.op); got != c.want {
			t.Errorf("ChangedPath(%v) = %q, want %q", c.op, got, c.want)
		}
	}
}

func TestPtrSet(t *testing.T) {
	var s ptrSet
	ptrs := make([]unsafe.Pointer, 10)
	for i := range ptrs {
		ptrs[i] = unsafe.Pointer(new(int))
	}
	for i, p := range ptrs {
		s.add(p)
		s.add(p) // twice: still one entry
		if s.len() != i+1 {
			t.Fatalf("after %d adds: len %d", i+1, s.len())
		}
	}
	// Remove from the inline part and from the spill, in a mixed order.
	for _, i := range []int{1, 7, 0, 9, 2} {
		s.del(ptrs[i])
		if s.has(ptrs[i]) {
			t.Fatalf("%d still there after del", i)
		}
	}
	if s.len() != 5 {
		t.Fatalf("len %d after 5 dels, want 5", s.len())
	}
	for _, i := range []int{3, 4, 5, 6, 8} {
		if !s.has(ptrs[i]) {
			t.Fatalf("%d lost", i)
		}
	}
	s.add(ptrs[1]) // back into the inline part
	if !s.has(ptrs[1]) || s.len() != 6 {
		t.Fatalf("re-add: has %v len %d", s.has(ptrs[1]), s.len())
	}
	s.reset()
	if s.len() != 0 || s.has(ptrs[3]) {
		t.Fatal("reset left entries")
	}
}
