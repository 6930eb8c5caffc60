package delta

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, new any
		want     []Op
	}{
		{name: "both nil", old: nil, new: nil, want: nil},
		{name: "equal objects", old: obj{"a": arr{int64(1)}}, new: obj{"a": arr{int64(1)}}, want: nil},
		{name: "equal numbers of different types", old: obj{"a": int64(1)}, new: obj{"a": 1.0}, want: nil},
		{name: "nil to value", old: nil, new: obj{"a": int64(1)}, want: []Op{update("/", obj{"a": int64(1)})}},
		{name: "value to nil", old: obj{"a": int64(1)}, new: nil, want: []Op{update("/", nil)}},
		{name: "scalar change", old: int64(1), new: "x", want: []Op{update("/", "x")}},
		{name: "object to scalar", old: obj{}, new: int64(1), want: []Op{update("/", int64(1))}},
		{name: "array to object", old: arr{}, new: obj{}, want: []Op{update("/", obj{})}},
		{name: "array element", old: arr{int64(1), int64(2)}, new: arr{int64(1), int64(3)}, want: []Op{update("/", arr{int64(1), int64(3)})}},
		{name: "field added", old: obj{"a": int64(1)}, new: obj{"a": int64(1), "b": int64(2)}, want: []Op{add("/b", int64(2))}},
		{name: "field removed", old: obj{"a": int64(1), "b": int64(2)}, new: obj{"a": int64(1)}, want: []Op{remove("/b")}},
		{name: "field changed", old: obj{"a": int64(1)}, new: obj{"a": int64(2)}, want: []Op{update("/a", int64(2))}},
		{name: "field set to nil", old: obj{"a": int64(1)}, new: obj{"a": nil}, want: []Op{update("/a", nil)}},
		{name: "nil field added", old: obj{}, new: obj{"a": nil}, want: []Op{add("/a", nil)}},
		{name: "nested", old: obj{"a": obj{"x": int64(1), "y": int64(2)}, "b": int64(1)},
			new:  obj{"a": obj{"x": int64(1), "z": int64(3)}, "b": int64(1)},
			want: []Op{remove("/a/y"), add("/a/z", int64(3))}},
		{name: "nested kind change", old: obj{"a": obj{"x": int64(1)}}, new: obj{"a": arr{}}, want: []Op{update("/a", arr{})}},
		{name: "nested array replaced whole", old: obj{"l": arr{int64(1), int64(2)}}, new: obj{"l": arr{int64(1), int64(2), int64(3)}},
			want: []Op{update("/l", arr{int64(1), int64(2), int64(3)})}},
		{name: "escaped keys", old: obj{"a/b": int64(1), "~": int64(1)}, new: obj{"a/b": int64(2), "~1": int64(1)},
			want: []Op{update("/a~1b", int64(2)), remove("/~0"), add("/~01", int64(1))}},
		{name: "sorted by path", old: obj{"c": int64(1), "a": int64(1)}, new: obj{"b": int64(1), "a": int64(2)},
			want: []Op{update("/a", int64(2)), add("/b", int64(1)), remove("/c")}},
		{name: "root field empty changed", old: obj{"": int64(1), "a": int64(1)}, new: obj{"": int64(2), "a": int64(1)},
			want: []Op{update("/", obj{"": int64(2), "a": int64(1)})}},
		{name: "root field empty added", old: obj{}, new: obj{"": int64(1)}, want: []Op{update("/", obj{"": int64(1)})}},
		{name: "root field empty removed", old: obj{"": int64(1)}, new: obj{}, want: []Op{update("/", obj{})}},
		{name: "root field empty unchanged", old: obj{"": int64(1), "a": int64(1)}, new: obj{"": int64(1), "a": int64(2)},
			want: []Op{update("/a", int64(2))}},
		{name: "root field empty nested", old: obj{"": obj{"x": int64(1)}}, new: obj{"": obj{"x": int64(2)}},
			want: []Op{update("//x", int64(2))}},
		{name: "nested field empty", old: obj{"a": obj{}}, new: obj{"a": obj{"": int64(1)}}, want: []Op{add("/a/", int64(1))}},
		{name: "nil map and empty map", old: obj(nil), new: obj{}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			oldCopy, newCopy := deepCopy(tt.old), deepCopy(tt.new)
			got := Diff(tt.old, tt.new)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Diff = %#v\nwant   %#v", got, tt.want)
			}
			if !sameValue(tt.old, oldCopy) || !sameValue(tt.new, newCopy) {
				t.Fatal("Diff changed its input")
			}
			res, deleted, err := Apply(tt.old, got)
			if err != nil || deleted || !Equal(res, tt.new) {
				t.Fatalf("Apply(old, Diff) = %#v, %v, %v; want %#v", res, deleted, err, tt.new)
			}
		})
	}
}

// TestDiffProperty checks, on random pairs of values, that applying the diff
// reproduces the new value, that a value's diff with itself is empty, and
// that the ops are sorted with no path inside another.
func TestDiffProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 5))
	for i := range 5000 {
		old := randValue(r, 4)
		var new any
		if i%4 == 0 {
			new = randValue(r, 4)
		} else {
			new = mutate(r, old, 4)
		}
		if ops := Diff(old, old); len(ops) != 0 {
			t.Fatalf("Diff(x, x) = %#v for %#v", ops, old)
		}
		if ops := Diff(old, deepCopy(old)); len(ops) != 0 {
			t.Fatalf("Diff(x, copy of x) = %#v for %#v", ops, old)
		}
		oldCopy := deepCopy(old)
		ops := Diff(old, new)
		if !slices.IsSortedFunc(ops, func(a, b Op) int { return strings.Compare(a.Path, b.Path) }) {
			t.Fatalf("ops not sorted: %#v", ops)
		}
		for j := range ops {
			for k := range ops {
				if j != k && strings.HasPrefix(ops[k].Path, ops[j].Path+"/") {
					t.Fatalf("path %q inside %q", ops[k].Path, ops[j].Path)
				}
			}
		}
		got, deleted, err := Apply(old, ops)
		if err != nil || deleted {
			t.Fatalf("Apply(old, Diff(old, new)) failed: %v, deleted=%v\nold %#v\nnew %#v\nops %#v", err, deleted, old, new, ops)
		}
		if !Equal(got, new) {
			t.Fatalf("Apply(old, Diff(old, new)) = %#v\nwant %#v\nops %#v", got, new, ops)
		}
		if !sameValue(old, oldCopy) {
			t.Fatal("Diff or Apply changed old")
		}
		// The reversed op order must give the same value.
		rev := slices.Clone(ops)
		slices.Reverse(rev)
		if got2, _, err := Apply(old, rev); err != nil || !Equal(got2, new) {
			t.Fatalf("reversed ops give %#v, %v", got2, err)
		}
	}
}

func TestEqual(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		a, b any
		want bool
	}{
		{nil, nil, true},
		{nil, false, false},
		{nil, obj(nil), false},
		{nil, arr(nil), false},
		{true, true, true},
		{true, false, false},
		{"a", "a", true},
		{"a", "b", false},
		{"1", int64(1), false},
		{int64(1), int64(1), true},
		{int64(1), uint64(1), true},
		{int64(1), 1.0, true},
		{uint64(1), 1.0, true},
		{int64(-1), uint64(math.MaxUint64), false},
		{int64(1), 1.5, false},
		{int64(math.MaxInt64), float64(math.MaxInt64), false}, // the float is 2^63
		{uint64(1 << 63), float64(1 << 63), true},
		{int64(math.MinInt64), float64(math.MinInt64), true},
		{uint64(math.MaxUint64), math.Inf(1), false},
		{uint64(math.MaxUint64), float64(math.MaxUint64), false}, // the float is 2^64
		{int64(0), math.Copysign(0, -1), true},
		{0.0, math.Copysign(0, -1), true},
		{nan, nan, true},
		{nan, 1.0, false},
		{int64(0), nan, false},
		{uint64(0), nan, false},
		{1.0, "1", false},
		{uint64(5), "5", false},
		{arr{}, arr(nil), true},
		{arr{int64(1), "a"}, arr{1.0, "a"}, true},
		{arr{int64(1)}, arr{int64(1), int64(1)}, false},
		{arr{int64(1)}, arr{int64(2)}, false},
		{arr{}, obj{}, false},
		{obj{}, obj(nil), true},
		{obj{"a": int64(1)}, obj{"a": int64(1)}, true},
		{obj{"a": int64(1)}, obj{"b": int64(1)}, false},
		{obj{"a": nil}, obj{}, false},
		{obj{"a": obj{"b": arr{nan}}}, obj{"a": obj{"b": arr{nan}}}, true},
		{[]string{"x"}, []string{"x"}, true},
		{[]string{"x"}, arr{"x"}, false},
		{int(1), int64(1), false},
		{int(1), int(1), true},
		{int64(1), int(1), false},
	}
	for _, tt := range tests {
		if got := Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := Equal(tt.b, tt.a); got != tt.want {
			t.Errorf("Equal(%#v, %#v) = %v, want %v", tt.b, tt.a, got, tt.want)
		}
	}
}
