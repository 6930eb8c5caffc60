package delta

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

type (
	obj = map[string]any
	arr = []any
)

func add(path string, v any) Op    { return Op{Op: OpAdd, Path: path, Value: v} }
func update(path string, v any) Op { return Op{Op: OpUpdate, Path: path, Value: v} }
func remove(path string) Op        { return Op{Op: OpRemove, Path: path} }

type applyCase struct {
	name    string
	in      any
	ops     []Op
	want    any
	deleted bool
	err     error // sentinel the error must wrap
	errAt   int   // index of the failing op
}

func runApplyCases(t *testing.T, cases []applyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := deepCopy(tc.in)
			got, deleted, err := Apply(tc.in, tc.ops)
			if !sameValue(tc.in, before) {
				t.Fatalf("input changed: %#v, was %#v", tc.in, before)
			}
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				var oe *OpError
				if !errors.As(err, &oe) {
					t.Fatalf("err %v is not an *OpError", err)
				}
				if oe.Index != tc.errAt || !reflect.DeepEqual(oe.Op, tc.ops[tc.errAt]) {
					t.Fatalf("OpError index %d op %#v, want index %d", oe.Index, oe.Op, tc.errAt)
				}
				if got != nil || deleted {
					t.Fatalf("failed Apply returned %#v, %v", got, deleted)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !sameValue(got, tc.want) || deleted != tc.deleted {
				t.Fatalf("got %#v (deleted=%v), want %#v (deleted=%v)", got, deleted, tc.want, tc.deleted)
			}
			// The simple model must agree on every case.
			checkAgainstRef(t, tc.in, tc.ops)
		})
	}
}

func TestApplyRoot(t *testing.T) {
	runApplyCases(t, []applyCase{
		{name: "no ops", in: obj{"a": int64(1)}, ops: nil, want: obj{"a": int64(1)}},
		{name: "ADD / replaces", in: obj{"a": int64(1)}, ops: []Op{add("/", int64(5))}, want: int64(5)},
		{name: "UPDATE / replaces", in: arr{int64(1)}, ops: []Op{update("/", obj{"x": "y"})}, want: obj{"x": "y"}},
		{name: "empty path is the root", in: int64(1), ops: []Op{update("", "s")}, want: "s"},
		{name: "ADD / on nil", in: nil, ops: []Op{add("/", arr{})}, want: arr{}},
		{name: "UPDATE / to nil", in: "x", ops: []Op{update("/", nil)}, want: nil},
		{name: "REMOVE / deletes", in: obj{"a": int64(1)}, ops: []Op{remove("/")}, want: nil, deleted: true},
		{name: "REMOVE empty path deletes", in: "x", ops: []Op{remove("")}, want: nil, deleted: true},
		{name: "REMOVE / on nil", in: nil, ops: []Op{remove("/")}, want: nil, deleted: true},
		{name: "REMOVE / ignores value", in: "x", ops: []Op{{Op: OpRemove, Path: "/", Value: "ignored"}}, want: nil, deleted: true},
		{name: "REMOVE then ADD /", in: "x", ops: []Op{remove("/"), add("/", "y")}, want: "y"},
		{name: "REMOVE then UPDATE field", in: "x", ops: []Op{remove("/"), update("/a", int64(1))}, want: obj{"a": int64(1)}},
		{name: "ADD then REMOVE /", in: nil, ops: []Op{add("/", "y"), remove("/")}, want: nil, deleted: true},
		{name: "REMOVE / twice", in: "x", ops: []Op{remove("/"), remove("/")}, want: nil, deleted: true},
		{name: "REMOVE / then REMOVE field", in: obj{"a": int64(1)}, ops: []Op{remove("/"), remove("/a")}, want: nil, deleted: true},
		{name: "REMOVE / then REMOVE nested", in: obj{"a": int64(1)}, ops: []Op{remove("/"), remove("/a/b"), remove("/c")}, want: nil, deleted: true},
	})
}

func TestApplyObjects(t *testing.T) {
	runApplyCases(t, []applyCase{
		{name: "ADD new field", in: obj{"a": int64(1)}, ops: []Op{add("/b", int64(2))}, want: obj{"a": int64(1), "b": int64(2)}},
		{name: "ADD existing field replaces", in: obj{"a": int64(1)}, ops: []Op{add("/a", "x")}, want: obj{"a": "x"}},
		{name: "UPDATE existing field", in: obj{"a": int64(1)}, ops: []Op{update("/a", 2.5)}, want: obj{"a": 2.5}},
		{name: "UPDATE missing field creates it", in: obj{}, ops: []Op{update("/a", true)}, want: obj{"a": true}},
		{name: "ADD nil value", in: obj{}, ops: []Op{add("/a", nil)}, want: obj{"a": nil}},
		{name: "REMOVE field", in: obj{"a": int64(1), "b": int64(2)}, ops: []Op{remove("/a")}, want: obj{"b": int64(2)}},
		{name: "REMOVE last field", in: obj{"a": int64(1)}, ops: []Op{remove("/a")}, want: obj{}},
		{name: "REMOVE field holding nil", in: obj{"a": nil}, ops: []Op{remove("/a")}, want: obj{}},
		{name: "nested UPDATE", in: obj{"a": obj{"b": int64(1), "c": int64(2)}}, ops: []Op{update("/a/b", int64(9))},
			want: obj{"a": obj{"b": int64(9), "c": int64(2)}}},
		{name: "nested REMOVE", in: obj{"a": obj{"b": int64(1), "c": int64(2)}}, ops: []Op{remove("/a/b")},
			want: obj{"a": obj{"c": int64(2)}}},
		{name: "escaped slash", in: obj{}, ops: []Op{add("/a~1b", int64(1))}, want: obj{"a/b": int64(1)}},
		{name: "escaped tilde", in: obj{}, ops: []Op{add("/~0", int64(1))}, want: obj{"~": int64(1)}},
		{name: "escape order", in: obj{}, ops: []Op{add("/~01", int64(1))}, want: obj{"~1": int64(1)}},
		{name: "REMOVE escaped", in: obj{"a/b": int64(1), "~": int64(2)}, ops: []Op{remove("/a~1b"), remove("/~0")}, want: obj{}},
		{name: "dash is a key in objects", in: obj{}, ops: []Op{add("/-", int64(1))}, want: obj{"-": int64(1)}},
		{name: "digits are keys in objects", in: obj{}, ops: []Op{add("/7", int64(1)), add("/01", int64(2))},
			want: obj{"7": int64(1), "01": int64(2)}},
		{name: "empty nested key", in: obj{"a": obj{}}, ops: []Op{add("/a/", int64(1))}, want: obj{"a": obj{"": int64(1)}}},
		{name: "empty keys", in: obj{}, ops: []Op{add("//", int64(1))}, want: obj{"": obj{"": int64(1)}}},
		{name: "nil map is an empty object", in: obj(nil), ops: []Op{add("/a", int64(1))}, want: obj{"a": int64(1)}},
		{name: "nested nil map", in: obj{"a": obj(nil)}, ops: []Op{add("/a/b", int64(1))}, want: obj{"a": obj{"b": int64(1)}}},
		// A REMOVE of a path that is not there changes nothing.
		{name: "REMOVE missing field", in: obj{"a": int64(1)}, ops: []Op{remove("/b")}, want: obj{"a": int64(1)}},
		{name: "REMOVE from nil map", in: obj(nil), ops: []Op{remove("/b")}, want: obj(nil)},
		{name: "REMOVE missing nested field", in: obj{"a": obj{"b": int64(1)}}, ops: []Op{remove("/a/c")}, want: obj{"a": obj{"b": int64(1)}}},
		{name: "REMOVE under missing field", in: obj{}, ops: []Op{remove("/x/y")}, want: obj{}},
		{name: "REMOVE deep under missing field", in: obj{"a": obj{}}, ops: []Op{remove("/a/x/y/z")}, want: obj{"a": obj{}}},
		{name: "REMOVE under scalar", in: obj{"a": int64(5)}, ops: []Op{remove("/a/b")}, want: obj{"a": int64(5)}},
		{name: "REMOVE under nil", in: obj{"a": nil}, ops: []Op{remove("/a/b")}, want: obj{"a": nil}},
		{name: "REMOVE under string", in: obj{"a": "str"}, ops: []Op{remove("/a/0")}, want: obj{"a": "str"}},
		{name: "REMOVE field of scalar root", in: int64(3), ops: []Op{remove("/a")}, want: int64(3)},
		{name: "REMOVE field of nil root", in: nil, ops: []Op{remove("/a")}, want: nil},
		{name: "REMOVE under opaque type", in: obj{"a": []string{"x"}}, ops: []Op{remove("/a/0")}, want: obj{"a": []string{"x"}}},
		{name: "REMOVE missing field inside an array element", in: obj{"l": arr{obj{"a": int64(1)}}}, ops: []Op{remove("/l/0/b")},
			want: obj{"l": arr{obj{"a": int64(1)}}}},
		{name: "REMOVE missing then real field", in: obj{"a": int64(1), "b": int64(2)}, ops: []Op{remove("/x"), remove("/a"), remove("/a")},
			want: obj{"b": int64(2)}},
		{name: "REMOVE the same field twice", in: obj{"p": obj{"alice": true, "bob": true}}, ops: []Op{remove("/p/alice"), remove("/p/alice")},
			want: obj{"p": obj{"bob": true}}},
	})
}

func TestApplyArrays(t *testing.T) {
	abc := arr{"a", "b", "c"}
	runApplyCases(t, []applyCase{
		{name: "ADD - appends", in: abc, ops: []Op{add("/-", "d")}, want: arr{"a", "b", "c", "d"}},
		{name: "UPDATE - appends", in: abc, ops: []Op{update("/-", "d")}, want: arr{"a", "b", "c", "d"}},
		{name: "ADD - on empty", in: arr{}, ops: []Op{add("/-", "d")}, want: arr{"d"}},
		{name: "ADD - on nil slice", in: arr(nil), ops: []Op{add("/-", "d")}, want: arr{"d"}},
		{name: "ADD N replaces", in: abc, ops: []Op{add("/0", "x")}, want: arr{"x", "b", "c"}},
		{name: "UPDATE N replaces", in: abc, ops: []Op{update("/2", "x")}, want: arr{"a", "b", "x"}},
		{name: "ADD len appends", in: abc, ops: []Op{add("/3", "d")}, want: arr{"a", "b", "c", "d"}},
		{name: "UPDATE len appends", in: abc, ops: []Op{update("/3", "d")}, want: arr{"a", "b", "c", "d"}},
		{name: "ADD 0 on empty", in: arr{}, ops: []Op{add("/0", "d")}, want: arr{"d"}},
		{name: "REMOVE - drops last", in: abc, ops: []Op{remove("/-")}, want: arr{"a", "b"}},
		{name: "REMOVE 0", in: abc, ops: []Op{remove("/0")}, want: arr{"b", "c"}},
		{name: "REMOVE middle", in: abc, ops: []Op{remove("/1")}, want: arr{"a", "c"}},
		{name: "REMOVE last index", in: abc, ops: []Op{remove("/2")}, want: arr{"a", "b"}},
		{name: "REMOVE only element", in: arr{"a"}, ops: []Op{remove("/0")}, want: arr{}},
		{name: "nested UPDATE", in: arr{int64(1), obj{"a": int64(1)}}, ops: []Op{update("/1/a", int64(2))},
			want: arr{int64(1), obj{"a": int64(2)}}},
		{name: "nested REMOVE", in: arr{obj{"a": int64(1), "b": int64(2)}}, ops: []Op{remove("/0/a")}, want: arr{obj{"b": int64(2)}}},
		{name: "nested array REMOVE", in: obj{"x": arr{arr{"a", "b"}}}, ops: []Op{remove("/x/0/-")}, want: obj{"x": arr{arr{"a"}}}},
		{name: "ADD under - appends a new object", in: arr{int64(1)}, ops: []Op{add("/-/a", "v")}, want: arr{int64(1), obj{"a": "v"}}},
		{name: "ADD under len appends a new object", in: arr{int64(1)}, ops: []Op{add("/1/a", "v")}, want: arr{int64(1), obj{"a": "v"}}},
		{name: "ADD under - appends a new array", in: arr{}, ops: []Op{add("/-/-", "v")}, want: arr{arr{"v"}}},
		{name: "ADD under scalar element", in: arr{int64(1)}, ops: []Op{add("/0/a", "v")}, want: arr{obj{"a": "v"}}},
		{name: "ADD past the end", in: abc, ops: []Op{add("/4", "x")}, err: ErrIndex},
		{name: "UPDATE past the end", in: arr{}, ops: []Op{update("/1", "x")}, err: ErrIndex},
		{name: "ADD under past the end", in: arr{int64(1)}, ops: []Op{add("/2/a", "v")}, err: ErrIndex},
		{name: "ADD non-numeric", in: abc, ops: []Op{add("/x", "v")}, err: ErrIndex},
		{name: "ADD under non-numeric", in: obj{"a": arr{}}, ops: []Op{add("/a/b", int64(1))}, err: ErrIndex},
		{name: "ADD leading zero", in: abc, ops: []Op{add("/01", "v")}, err: ErrIndex},
		{name: "ADD double zero", in: abc, ops: []Op{add("/00", "v")}, err: ErrIndex},
		{name: "ADD negative", in: abc, ops: []Op{add("/-1", "v")}, err: ErrIndex},
		{name: "ADD plus sign", in: abc, ops: []Op{add("/+1", "v")}, err: ErrIndex},
		{name: "ADD empty segment", in: abc, ops: []Op{add("/", "v"), add("/", abc), add("/a/", "v")}, err: ErrIndex, errAt: 2},
		{name: "ADD huge index", in: abc, ops: []Op{add("/99999999999999999999999", "v")}, err: ErrIndex},
		{name: "REMOVE - on empty", in: arr{}, ops: []Op{remove("/-")}, err: ErrIndex},
		{name: "REMOVE len", in: abc, ops: []Op{remove("/3")}, err: ErrIndex},
		{name: "REMOVE non-numeric", in: abc, ops: []Op{remove("/x")}, err: ErrIndex},
		{name: "REMOVE leading zero", in: abc, ops: []Op{remove("/01")}, err: ErrIndex},
		{name: "REMOVE under -", in: arr{obj{"a": int64(1)}}, ops: []Op{remove("/-/a")}, err: ErrIndex},
		{name: "REMOVE under past the end", in: arr{obj{"a": int64(1)}}, ops: []Op{remove("/5/a")}, err: ErrIndex},
		{name: "REMOVE from nil slice", in: arr(nil), ops: []Op{remove("/0")}, err: ErrIndex},
	})
}

func TestApplyMaterialise(t *testing.T) {
	runApplyCases(t, []applyCase{
		{name: "append to nil", in: nil, ops: []Op{add("/-", "x")}, want: arr{"x"}},
		{name: "index 0 of nil", in: nil, ops: []Op{update("/0", "x")}, want: arr{"x"}},
		{name: "field of nil", in: nil, ops: []Op{add("/a", "x")}, want: obj{"a": "x"}},
		{name: "nested append on nil", in: nil, ops: []Op{add("/items/-", "x")}, want: obj{"items": arr{"x"}}},
		{name: "replace scalar field", in: obj{"a": int64(5)}, ops: []Op{add("/a/b", int64(1))}, want: obj{"a": obj{"b": int64(1)}}},
		{name: "replace scalar root", in: "str", ops: []Op{add("/a", int64(1))}, want: obj{"a": int64(1)}},
		{name: "replace scalar root with array", in: true, ops: []Op{add("/-", int64(1))}, want: arr{int64(1)}},
		{name: "missing field becomes array", in: obj{"k": int64(1)}, ops: []Op{add("/a/0/b", "v")},
			want: obj{"k": int64(1), "a": arr{obj{"b": "v"}}}},
		{name: "nil field", in: obj{"a": nil}, ops: []Op{add("/a/-", "v")}, want: obj{"a": arr{"v"}}},
		{name: "deep chain", in: nil, ops: []Op{add("/a/-/b/0/c", "v")}, want: obj{"a": arr{obj{"b": arr{obj{"c": "v"}}}}}},
		{name: "leading zero makes an object", in: nil, ops: []Op{add("/a/01", "v")}, want: obj{"a": obj{"01": "v"}}},
		{name: "opaque type is replaced", in: obj{"a": []string{"x"}}, ops: []Op{add("/a/b", int64(1))}, want: obj{"a": obj{"b": int64(1)}}},
		{name: "index past the end of a new array", in: nil, ops: []Op{add("/1", "x")}, err: ErrIndex},
		{name: "nested index past the end", in: obj{"a": "s"}, ops: []Op{add("/a/3/b", "x")}, err: ErrIndex},
	})
}

func TestApplyErrors(t *testing.T) {
	runApplyCases(t, []applyCase{
		{name: "lower-case op", in: obj{}, ops: []Op{{Op: "add", Path: "/a", Value: int64(1)}}, err: ErrUnknownOp},
		{name: "empty op", in: obj{}, ops: []Op{{Op: "", Path: "/a"}}, err: ErrUnknownOp},
		{name: "other op", in: obj{}, ops: []Op{add("/a", int64(1)), {Op: "MOVE", Path: "/a"}}, err: ErrUnknownOp, errAt: 1},
		{name: "unknown op at root", in: obj{}, ops: []Op{{Op: "REPLACE", Path: "/"}}, err: ErrUnknownOp},
		{name: "unknown op beats bad pointer", in: obj{}, ops: []Op{{Op: "X", Path: "a~"}}, err: ErrUnknownOp},
		{name: "no leading slash", in: obj{}, ops: []Op{add("a", int64(1))}, err: ErrBadPointer},
		{name: "bad escape", in: obj{}, ops: []Op{add("/a~2", int64(1))}, err: ErrBadPointer},
		{name: "trailing tilde", in: obj{}, ops: []Op{update("/a/~", int64(1))}, err: ErrBadPointer},
		{name: "bad pointer beats missing path", in: obj{}, ops: []Op{remove("/missing/x~")}, err: ErrBadPointer},
		{name: "third op fails", in: obj{"a": int64(1), "l": arr{}}, ops: []Op{remove("/a"), add("/b", int64(2)), remove("/l/5")}, err: ErrIndex, errAt: 2},
	})
}

func TestOpErrorMessage(t *testing.T) {
	_, _, err := Apply(obj{"l~": arr{}}, []Op{add("/a", int64(1)), remove("/l~0/3")})
	var oe *OpError
	if !errors.As(err, &oe) {
		t.Fatalf("err %v is not an *OpError", err)
	}
	want := `delta: bad array index: segment 2 "3": no such element in an array of length 0 (op 1: REMOVE "/l~0/3")`
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if errors.Unwrap(err) != oe.Err || !errors.Is(oe.Err, ErrIndex) {
		t.Errorf("unwrap chain broken: %v", err)
	}
}

// TestApplyRemoveMissingKeepsValue checks that a REMOVE of a path that is
// not there hands back the input itself, not a copy of it, alone or among
// other ops.
func TestApplyRemoveMissingKeepsValue(t *testing.T) {
	in := obj{"a": obj{"b": int64(1)}, "l": arr{obj{"x": int64(1)}}}
	for _, ops := range [][]Op{
		{remove("/a/c")},
		{remove("/x/y")},
		{remove("/a/b/c")},
		{remove("/l/0/y")},
		{remove("/a/c"), remove("/x/y/z")},
	} {
		got, deleted, err := Apply(in, ops)
		if err != nil || deleted {
			t.Fatalf("Apply(%v) = %v, %v", ops, deleted, err)
		}
		if reflect.ValueOf(got).UnsafePointer() != reflect.ValueOf(in).UnsafePointer() {
			t.Errorf("Apply(%v) copied the value", ops)
		}
	}
	// An op after a REMOVE that changed nothing still applies.
	got, _, err := Apply(in, []Op{remove("/a/c"), add("/a/c", int64(2))})
	if err != nil || !sameValue(got, obj{"a": obj{"b": int64(1), "c": int64(2)}, "l": arr{obj{"x": int64(1)}}}) {
		t.Fatalf("got %#v, %v", got, err)
	}
}

// TestApplyState checks that a REMOVE that changes nothing keeps a deleted
// key deleted and a live key live, while every other op decides.
func TestApplyState(t *testing.T) {
	cases := []struct {
		name       string
		in         any
		init       bool
		ops        []Op
		want       any
		wantInit   bool
		wantDelete bool // what Apply says for the same ops
	}{
		{name: "no ops, deleted", in: nil, init: false, ops: nil, want: nil, wantInit: false},
		{name: "no ops, live", in: "x", init: true, ops: nil, want: "x", wantInit: true},
		{name: "missing REMOVE on a deleted key", in: nil, init: false, ops: []Op{remove("/p/alice")}, want: nil, wantInit: false},
		{name: "missing REMOVE on nil value", in: nil, init: true, ops: []Op{remove("/p/alice")}, want: nil, wantInit: true},
		{name: "missing REMOVE on a live key", in: obj{}, init: true, ops: []Op{remove("/a")}, want: obj{}, wantInit: true},
		{name: "REMOVE / on a live key", in: obj{}, init: true, ops: []Op{remove("/")}, want: nil, wantInit: false, wantDelete: true},
		{name: "REMOVE / then a missing REMOVE", in: obj{}, init: true, ops: []Op{remove("/"), remove("/a")}, want: nil, wantInit: false, wantDelete: true},
		{name: "ADD on a deleted key", in: nil, init: false, ops: []Op{add("/a", int64(1))}, want: obj{"a": int64(1)}, wantInit: true},
		{name: "REMOVE / on a deleted key", in: nil, init: false, ops: []Op{remove("/")}, want: nil, wantInit: false, wantDelete: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, init, err := ApplyState(tc.in, tc.init, tc.ops)
			if err != nil || !sameValue(got, tc.want) || init != tc.wantInit {
				t.Fatalf("ApplyState = %#v, %v, %v; want %#v, %v", got, init, err, tc.want, tc.wantInit)
			}
			got, deleted, err := Apply(tc.in, tc.ops)
			if err != nil || !sameValue(got, tc.want) || deleted != tc.wantDelete {
				t.Fatalf("Apply = %#v, %v, %v; want %#v, %v", got, deleted, err, tc.want, tc.wantDelete)
			}
		})
	}
	if _, init, err := ApplyState(obj{"l": arr{}}, true, []Op{add("/a", int64(1)), remove("/l/0")}); err == nil || init {
		t.Fatalf("failed ApplyState = %v, %v", init, err)
	}
}

// TestApplyMultiOp checks ops that build on each other within one call,
// where containers created by an earlier op are changed in place.
func TestApplyMultiOp(t *testing.T) {
	big := make(arr, tailMin+5)
	for i := range big {
		big[i] = int64(i)
	}
	wantBig := append(append(arr{}, big[1:]...), "x", "y")
	wantBig[3] = "z"
	shared := obj{"k": int64(0)}
	runApplyCases(t, []applyCase{
		{name: "two fields", in: obj{"x": int64(0)}, ops: []Op{add("/a", int64(1)), add("/b", int64(2))},
			want: obj{"x": int64(0), "a": int64(1), "b": int64(2)}},
		{name: "same field twice", in: obj{"a": int64(0)}, ops: []Op{update("/a", int64(1)), update("/a", int64(2))},
			want: obj{"a": int64(2)}},
		{name: "into op value", in: obj{}, ops: []Op{add("/a", obj{"x": int64(1)}), add("/a/y", int64(2)), remove("/a/x")},
			want: obj{"a": obj{"y": int64(2)}}},
		{name: "into root op value", in: nil, ops: []Op{add("/", obj{"x": arr{int64(1)}}), add("/x/-", int64(2)), update("/x/0", int64(0))},
			want: obj{"x": arr{int64(0), int64(2)}}},
		{name: "build an array", in: nil, ops: []Op{add("/-", "a"), add("/-", "b"), add("/-", "c"), remove("/0"), update("/0", "B")},
			want: arr{"B", "c"}},
		{name: "big array", in: obj{"l": big}, ops: []Op{remove("/l/0"), add("/l/-", "x"), add("/l/-", "y"), update("/l/3", "z")},
			want: obj{"l": wantBig}},
		{name: "one op value in two places", in: obj{}, ops: []Op{add("/a", shared), add("/b", shared), add("/a/x", int64(1)), remove("/b/k")},
			want: obj{"a": obj{"k": int64(0), "x": int64(1)}, "b": obj{}}},
		{name: "remove then re-add", in: obj{"a": obj{"b": int64(1)}}, ops: []Op{remove("/a/b"), add("/a/b", int64(2)), remove("/a"), add("/a/c", int64(3))},
			want: obj{"a": obj{"c": int64(3)}}},
	})
}

// TestApplyImmutable applies random ops to random values and checks, through
// checkAgainstRef, that the input and the op values are unchanged and that
// the result matches the simple model. It also checks that applying the ops
// one at a time gives the same result as one call, and that applying to a
// result again does not change that result.
func TestApplyImmutable(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	for range 20000 {
		v := randValue(r, 4)
		ops := randOps(r, v)
		got, err := checkAgainstRef(t, v, ops)
		if err != nil {
			continue
		}
		step := v
		for i := range ops {
			step, _, err = Apply(step, ops[i:i+1])
			if err != nil {
				t.Fatalf("op %d alone failed: %v", i, err)
			}
		}
		if !sameValue(step, got) {
			t.Fatalf("one op at a time gives %#v, all at once %#v", step, got)
		}
		snapshot := deepCopy(got)
		checkAgainstRef(t, got, randOps(r, got))
		checkAgainstRef(t, got, ops)
		if !sameValue(got, snapshot) {
			t.Fatalf("applying to a result changed it")
		}
	}
}

// TestApplySharesUnchanged checks that only the containers on the path are
// copied.
func TestApplySharesUnchanged(t *testing.T) {
	other := obj{"k": int64(1)}
	list := arr{int64(1), int64(2)}
	in := obj{"a": obj{"x": int64(1), "y": other}, "b": list}
	out, _, err := Apply(in, []Op{update("/a/x", int64(2))})
	if err != nil {
		t.Fatal(err)
	}
	o := out.(obj)
	if reflect.ValueOf(o).UnsafePointer() == reflect.ValueOf(in).UnsafePointer() {
		t.Error("root map not copied")
	}
	if reflect.ValueOf(o["a"]).UnsafePointer() == reflect.ValueOf(in["a"]).UnsafePointer() {
		t.Error("map on the path not copied")
	}
	if reflect.ValueOf(o["a"].(obj)["y"]).UnsafePointer() != reflect.ValueOf(other).UnsafePointer() {
		t.Error("map off the path copied")
	}
	if &o["b"].(arr)[0] != &list[0] {
		t.Error("array off the path copied")
	}
}

// bigArray returns an array of n elements that Apply has allocated, so that
// appends to it can use spare capacity.
func bigArray(t testing.TB, n int) arr {
	t.Helper()
	base := make(arr, n-1)
	for i := range base {
		base[i] = int64(i)
	}
	v, _, err := Apply(base, []Op{add("/-", int64(n-1))})
	if err != nil {
		t.Fatal(err)
	}
	return v.(arr)
}

func TestAppendInPlace(t *testing.T) {
	r0 := bigArray(t, 100)
	if cap(r0) != len(r0) {
		t.Fatalf("result has cap %d, len %d", cap(r0), len(r0))
	}
	v1, _, err := Apply(r0, []Op{add("/-", "x")})
	if err != nil {
		t.Fatal(err)
	}
	r1 := v1.(arr)
	if &r1[0] != &r0[0] {
		t.Error("append to an array Apply allocated was not done in place")
	}
	if len(r0) != 100 || len(r1) != 101 || r1[100] != "x" || cap(r1) != len(r1) {
		t.Fatalf("r0 len %d, r1 len %d cap %d last %v", len(r0), len(r1), cap(r1), r1[len(r1)-1])
	}

	// A second append to the same base must not overwrite r1's element.
	v2, _, err := Apply(r0, []Op{add("/-", "y")})
	if err != nil {
		t.Fatal(err)
	}
	r2 := v2.(arr)
	if r1[100] != "x" || r2[100] != "y" || len(r2) != 101 {
		t.Fatalf("r1 last %v, r2 last %v", r1[100], r2[100])
	}
	if &r2[0] == &r0[0] {
		t.Error("second append to the same base shares the backing array")
	}

	// A user appending to an old value gets a copy.
	user := append(r0, "user")
	if &user[0] == &r0[0] || r1[100] != "x" {
		t.Error("a user's append reached the shared backing array")
	}

	// Dropping the last element and appending again must not reuse the slot
	// r1 sees.
	v3, _, err := Apply(r1, []Op{remove("/-")})
	if err != nil {
		t.Fatal(err)
	}
	v4, _, err := Apply(v3, []Op{add("/-", "z")})
	if err != nil {
		t.Fatal(err)
	}
	if r1[100] != "x" || v4.(arr)[100] != "z" {
		t.Fatalf("r1 last %v, v4 last %v", r1[100], v4.(arr)[100])
	}

	// A long run of appends stays correct across growth.
	v := any(r1)
	for i := range 1000 {
		if v, _, err = Apply(v, []Op{add("/-", int64(i))}); err != nil {
			t.Fatal(err)
		}
	}
	final := v.(arr)
	if len(final) != 1101 || final[100] != "x" || final[1100] != int64(999) || r1[100] != "x" || len(r1) != 101 {
		t.Fatalf("after 1000 appends: len %d", len(final))
	}
}

func TestAppendNested(t *testing.T) {
	base := obj{"items": bigArray(t, 80), "other": int64(1)}
	v1, _, err := Apply(base, []Op{add("/items/-", "a")})
	if err != nil {
		t.Fatal(err)
	}
	v2, _, err := Apply(v1, []Op{add("/items/-/k", "b")})
	if err != nil {
		t.Fatal(err)
	}
	v3, _, err := Apply(v1, []Op{add("/items/-", "c")})
	if err != nil {
		t.Fatal(err)
	}
	i1, i2, i3 := v1.(obj)["items"].(arr), v2.(obj)["items"].(arr), v3.(obj)["items"].(arr)
	if len(base["items"].(arr)) != 80 || len(i1) != 81 || len(i2) != 82 || len(i3) != 82 {
		t.Fatalf("lengths %d %d %d", len(i1), len(i2), len(i3))
	}
	if !sameValue(i2[81], obj{"k": "b"}) || i3[81] != "c" || i1[80] != "a" {
		t.Fatalf("got %v %v %v", i1[80], i2[81], i3[81])
	}
}

// TestAppendConcurrent appends to one base from many goroutines; exactly the
// elements each call appended must be visible in its result.
func TestAppendConcurrent(t *testing.T) {
	base := bigArray(t, 200)
	const workers, rounds = 8, 200
	results := make([][]arr, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				v, _, err := Apply(base, []Op{add("/-", fmt.Sprint(w, i)), add("/-", int64(i))})
				if err != nil {
					t.Error(err)
					return
				}
				results[w] = append(results[w], v.(arr))
			}
		})
	}
	wg.Wait()
	for w, rs := range results {
		for i, r := range rs {
			if len(r) != 202 || r[200] != fmt.Sprint(w, i) || r[201] != int64(i) || !slices.Equal(r[:200], base) {
				t.Fatalf("worker %d round %d: wrong result tail %v", w, i, r[200:])
			}
		}
	}
}

// TestAppendChainsConcurrent has each goroutine append to its own chain of
// values, all starting from one base.
func TestAppendChainsConcurrent(t *testing.T) {
	base := bigArray(t, 100)
	const workers, rounds = 4, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			v := any(base)
			var seen []arr
			for i := range rounds {
				var err error
				v, _, err = Apply(v, []Op{add("/-", int64(w*rounds+i))})
				if err != nil {
					t.Error(err)
					return
				}
				seen = append(seen, v.(arr))
			}
			for i, s := range seen {
				if len(s) != 101+i {
					t.Errorf("worker %d: value %d has length %d", w, i, len(s))
					return
				}
				for j := 0; j <= i; j++ {
					if s[100+j] != int64(w*rounds+j) {
						t.Errorf("worker %d: value %d element %d is %v", w, i, 100+j, s[100+j])
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

// TestTailSweep checks that entries of collected arrays leave the table.
func TestTailSweep(t *testing.T) {
	keep := appendCopy(make(arr, tailMin), int64(1))
	for range 3000 {
		appendCopy(make(arr, tailMin), int64(1))
	}
	runtime.GC()
	tails.mu.Lock()
	sweepTails()
	n := len(tails.m)
	tails.mu.Unlock()
	if n > 1000 {
		t.Errorf("tail table still holds %d entries after collection", n)
	}
	if out, ok := appendInPlace(keep, int64(2)); !ok || len(out) != tailMin+2 {
		t.Errorf("a live array lost its entry")
	}
}

func TestApplyLimits(t *testing.T) {
	deep := strings.Repeat("/a", MaxPathDepth+1)
	if _, _, err := ApplyState(nil, false, []Op{{Op: OpAdd, Path: deep, Value: 1}}); !errors.Is(err, ErrBadPointer) {
		t.Fatalf("path of %d segments: %v", MaxPathDepth+1, err)
	}
	if len(err2str(deep)) > 400 {
		t.Fatalf("error message of %d bytes", len(err2str(deep)))
	}
	ok := strings.Repeat("/a", MaxPathDepth)
	if _, _, err := ApplyState(nil, false, []Op{{Op: OpAdd, Path: ok, Value: 1}}); err != nil {
		t.Fatalf("path of %d segments: %v", MaxPathDepth, err)
	}
	// Three new objects for /a/b/c on nil, then /x on the result creates none.
	ops := []Op{{Op: OpAdd, Path: "/a/b/c", Value: 1}, {Op: OpAdd, Path: "/x", Value: 2}}
	if _, _, err := ApplyStateLimit(nil, false, ops, 3); err != nil {
		t.Fatalf("within the limit: %v", err)
	}
	if _, _, err := ApplyStateLimit(nil, false, ops, 2); !errors.Is(err, ErrLimit) {
		t.Fatalf("over the limit: %v", err)
	}
	ops = append(ops, Op{Op: OpAdd, Path: "/y/-", Value: 3})
	if _, _, err := ApplyStateLimit(nil, false, ops, 3); !errors.Is(err, ErrLimit) {
		t.Fatalf("an array over the limit: %v", err)
	}
	if _, _, err := ApplyStateLimit(map[string]any{"y": []any{}}, true, ops, 3); err != nil {
		t.Fatalf("an existing array: %v", err)
	}
}

func err2str(path string) string {
	_, _, err := ApplyState(nil, false, []Op{{Op: OpAdd, Path: path, Value: 1}})
	return err.Error()
}
