package convert

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/sodp-go/client/internal/delta"
)

type reuseLeaf struct {
	A string  `msgpack:"a"`
	B int64   `msgpack:"b"`
	C float64 `msgpack:"c"`
	D bool    `msgpack:"d"`
}

type reuseInner struct {
	reuseLeaf           // promoted fields a, b, c, d
	L         reuseLeaf `msgpack:"l"`
	Arr       [2]int    `msgpack:"arr"`
}

type reuseMixed struct {
	G0   reuseLeaf            `msgpack:"g0"`
	G1   reuseLeaf            `msgpack:"g1"`
	In   reuseInner           `msgpack:"in"`
	M    map[string]reuseLeaf `msgpack:"m"`
	S    []reuseLeaf          `msgpack:"s"`
	P    *reuseLeaf           `msgpack:"p"`
	Any  any                  `msgpack:"any"`
	Name string               `msgpack:"name"`
	Fold int64                // filled from "FOLD" or "fold" keys: case-insensitive match
}

type reuseFlat struct {
	G0 reuseLeaf `msgpack:"g0"`
	G1 reuseLeaf `msgpack:"g1"`
	G2 reuseLeaf `msgpack:"g2"`
}

func TestReuses(t *testing.T) {
	if !Reuses[reuseFlat]() || !Reuses[reuseMixed]() || !Reuses[reuseLeaf]() {
		t.Error("structs with flat parts should reuse")
	}
	if Reuses[any]() || Reuses[map[string]reuseLeaf]() || Reuses[[]int]() || Reuses[int]() {
		t.Error("non-struct types have nothing to reuse")
	}
	type onlyRefs struct {
		M map[string]int
		S []string
	}
	if Reuses[onlyRefs]() {
		t.Error("a struct without flat parts has nothing to reuse")
	}
	type viaPointer struct {
		*reuseLeaf
		X int
	}
	if Reuses[viaPointer]() {
		t.Error("fields promoted through an embedded pointer are not reused")
	}
}

func TestDetaches(t *testing.T) {
	type list struct {
		Next *list
		V    int
	}
	if !Detaches[reuseFlat]() || !Detaches[reuseInner]() || !Detaches[map[string][]reuseLeaf]() || !Detaches[list]() || !Detaches[int]() {
		t.Error("types without interfaces keep nothing of the value")
	}
	type deep struct{ M map[string][]*struct{ X any } }
	if Detaches[any]() || Detaches[reuseMixed]() || Detaches[deep]() || Detaches[[]fmt.Stringer]() {
		t.Error("an interface anywhere may keep a container of the value")
	}
}

// randScalar returns a normalised scalar, sometimes of a kind that does not
// fit the fields (so that conversion errors are exercised too).
func randScalar(r *rand.Rand) any {
	switch r.IntN(8) {
	case 0:
		return fmt.Sprintf("s%d", r.IntN(5))
	case 1:
		return r.IntN(2) == 0
	case 2:
		return float64(r.IntN(4)) + 0.5
	case 3:
		return nil
	case 4:
		return map[string]any{"a": "x", "b": int64(r.IntN(9))}
	default:
		return int64(r.IntN(100))
	}
}

var reuseKeys = []string{"g0", "G0", "g1", "g2", "in", "m", "s", "p", "any", "name", "fold", "FOLD", "Fold", "other"}
var leafKeys = []string{"a", "b", "c", "d", "A", "l", "arr", "x"}

// randPath returns a path into the shapes the test values have.
func randPath(r *rand.Rand) string {
	top := reuseKeys[r.IntN(len(reuseKeys))]
	switch r.IntN(4) {
	case 0:
		return "/" + top
	case 1, 2:
		return "/" + top + "/" + leafKeys[r.IntN(len(leafKeys))]
	default:
		return "/" + top + "/" + leafKeys[r.IntN(len(leafKeys))] + "/" + leafKeys[r.IntN(4)]
	}
}

func leafValue(i int) map[string]any {
	return map[string]any{"a": fmt.Sprintf("n%d", i), "b": int64(i), "c": 0.25, "d": i%2 == 0}
}

func reuseInitial() map[string]any {
	return map[string]any{
		"g0": leafValue(0), "g1": leafValue(1), "g2": leafValue(2),
		"in":   map[string]any{"a": "in", "b": int64(7), "l": leafValue(3), "arr": []any{int64(1), int64(2)}},
		"m":    map[string]any{"k1": leafValue(4), "k2": leafValue(5)},
		"s":    []any{leafValue(6)},
		"p":    leafValue(7),
		"any":  map[string]any{"z": int64(1)},
		"name": "n",
		"fold": int64(3),
	}
}

// checkReuseStream applies random deltas the way the client does (in place
// where nothing was handed out, every delivered value frozen first) and
// checks that Reusing from the previous delivered value gives what
// To gives, and that scribbling on the reference parts of a delivered
// value, as its reader may, changes nothing later.
func checkReuseStream[T any](t *testing.T, seed uint64, steps int, scribble func(*T)) {
	r := rand.New(rand.NewPCG(seed, 7))
	var own delta.Owner
	var cur any = reuseInitial()
	var prevTree any
	var prev *T
	for step := range steps {
		own.Freeze(cur)
		var want, got T
		wantErr := To(cur, &want)
		gotErr := Reusing(cur, prevTree, prev, &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("seed %d step %d: Convert error %v, Reusing error %v", seed, step, wantErr, gotErr)
		}
		if wantErr != nil {
			// Which of several misfits is reported depends on map
			// order, in To too: only the kind of error must agree.
			var ce *Error
			if !errors.As(gotErr, &ce) {
				t.Fatalf("seed %d step %d: Reusing error %T %v, want a *Error", seed, step, gotErr, gotErr)
			}
			prev, prevTree = nil, nil
		} else {
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("seed %d step %d: Reusing\n got %+v\nwant %+v", seed, step, got, want)
			}
			kept := got
			prev, prevTree = &kept, cur
			// The reader's copy shares the reference parts with kept.
			reader := got
			scribble(&reader)
		}
		n := 1 + r.IntN(3)
		ops := make([]delta.Op, n)
		for i := range ops {
			ops[i] = delta.Op{Op: delta.OpUpdate, Path: randPath(r), Value: randScalar(r)}
			if r.IntN(5) == 0 {
				ops[i].Op = delta.OpRemove
			}
		}
		next, _, err := own.ApplyState(cur, true, ops, -1)
		if err != nil {
			own.Reset()
			continue // cur was handed out and frozen: unchanged
		}
		cur = next
	}
}

// checkChangedStream applies random deltas in place, as a pump does to its
// own copy of a key (nothing is ever frozen), and checks that
// ReusingChanged from the previous result, given the changed paths, gives
// what To gives, and that scribbling on a delivered value, as its reader
// may, changes nothing later.
func checkChangedStream[T any](t *testing.T, seed uint64, steps int, scribble func(*T)) {
	r := rand.New(rand.NewPCG(seed, 11))
	var own delta.Owner
	var cur any = reuseInitial()
	var changed []string // nil: the first value
	var prev *T
	for step := range steps {
		var want, got T
		wantErr := To(cur, &want)
		gotErr := ReusingChanged(cur, changed, prev, &got)
		if (wantErr == nil) != (gotErr == nil) {
			t.Fatalf("seed %d step %d: Convert error %v, ReusingChanged error %v", seed, step, wantErr, gotErr)
		}
		if wantErr != nil {
			var ce *Error
			if !errors.As(gotErr, &ce) {
				t.Fatalf("seed %d step %d: ReusingChanged error %T %v, want a *Error", seed, step, gotErr, gotErr)
			}
			prev = nil
		} else {
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("seed %d step %d: ReusingChanged with changes %q\n got %+v\nwant %+v", seed, step, changed, got, want)
			}
			kept := got
			prev = &kept
			reader := got
			scribble(&reader)
		}
		n := 1 + r.IntN(3)
		ops := make([]delta.Op, n)
		changed = changed[:0:0]
		for i := range ops {
			ops[i] = delta.Op{Op: delta.OpUpdate, Path: randPath(r), Value: randScalar(r)}
			if r.IntN(5) == 0 {
				ops[i].Op = delta.OpRemove
			}
			if r.IntN(40) == 0 {
				ops[i] = delta.Op{Op: delta.OpUpdate, Path: "", Value: reuseInitial()}
			}
			changed = append(changed, delta.ChangedPath(ops[i]))
		}
		next, _, err := own.ApplyState(cur, true, ops, -1)
		if err != nil {
			// Part of the ops may have been applied: the next value is
			// converted afresh, as after a resync.
			own.Reset()
			changed = nil
			continue
		}
		cur = next
	}
}

// TestConvertReusingMatchesConvert runs random delta streams through both
// kinds of reuse: by shared containers (Reusing, the values frozen) and by
// changed paths (ReusingChanged, the value changed in place).
func TestConvertReusingMatchesConvert(t *testing.T) {
	steps := 300
	if testing.Short() {
		steps = 60
	}
	for seed := range uint64(40) {
		reuseStreams(t, seed, steps, func(v *reuseFlat) { v.G0.A = "scribbled" })
		reuseStreams(t, seed, steps, func(v *reuseMixed) {
			for k := range v.M {
				v.M[k] = reuseLeaf{A: "scribbled"}
			}
			if len(v.S) > 0 {
				v.S[0].B = -1
			}
			if v.P != nil {
				v.P.B = -1
			}
			v.G1.B = -1
		})
		reuseStreams(t, seed, steps, func(v *reuseInner) { v.L.A = "scribbled" })
	}
}

func reuseStreams[T any](t *testing.T, seed uint64, steps int, scribble func(*T)) {
	checkReuseStream(t, seed, steps, scribble)
	checkChangedStream(t, seed, steps, scribble)
}

// TestConvertReusingTakesOver shows that unchanged flat parts are taken
// from the previous result (not converted again) while changed ones are
// converted: a previous result that disagrees with its tree on an unchanged
// group shows through, one that disagrees on the changed group does not.
func TestConvertReusingTakesOver(t *testing.T) {
	g0, g1 := leafValue(0), leafValue(1)
	prevTree := map[string]any{"g0": g0, "g1": g1}
	var prev reuseFlat
	if err := To(prevTree, &prev); err != nil {
		t.Fatal(err)
	}
	prev.G0.A = "from previous"
	prev.G1.A = "from previous"
	g1b := map[string]any{"a": "new", "b": int64(9), "c": 0.25, "d": true}
	next := map[string]any{"g0": g0, "g1": g1b}
	var got reuseFlat
	if err := Reusing(next, prevTree, &prev, &got); err != nil {
		t.Fatal(err)
	}
	if got.G0.A != "from previous" {
		t.Errorf("unchanged group was converted again: %+v", got.G0)
	}
	if got.G1.A != "new" || got.G1.B != 9 {
		t.Errorf("changed group = %+v, want it converted from the new value", got.G1)
	}
	// A nil previous result is a plain conversion.
	var plain reuseFlat
	if err := Reusing(next, prevTree, nil, &plain); err != nil || plain.G0.A != "n0" {
		t.Errorf("nil prev: %+v, %v", plain, err)
	}
}

// TestConvertReusingChangedTakesOver shows that ReusingChanged takes the
// groups no changed path goes into from the previous result and converts
// the others, and that "/" or no list at all converts everything.
func TestConvertReusingChangedTakesOver(t *testing.T) {
	tree := map[string]any{"g0": leafValue(0), "g1": leafValue(1), "g2": leafValue(2)}
	var prev reuseFlat
	if err := To(tree, &prev); err != nil {
		t.Fatal(err)
	}
	prev.G0.A, prev.G1.A, prev.G2.A = "from previous", "from previous", "from previous"
	tree["g1"].(map[string]any)["a"] = "new"
	tests := []struct {
		changed    []string
		g0, g1, g2 string
	}{
		{[]string{"/g1/a"}, "from previous", "new", "from previous"},
		{[]string{"/g1"}, "from previous", "new", "from previous"},
		{[]string{"/g1/a", "/g2/b"}, "from previous", "new", "n2"},
		{[]string{"/other"}, "from previous", "from previous", "from previous"},
		{[]string{"/"}, "n0", "new", "n2"},
		{[]string{"/g1/~2"}, "n0", "new", "n2"}, // not a pointer: anything may have changed
		{nil, "n0", "new", "n2"},
	}
	for _, tc := range tests {
		var got reuseFlat
		if err := ReusingChanged(tree, tc.changed, &prev, &got); err != nil {
			t.Fatalf("%q: %v", tc.changed, err)
		}
		if got.G0.A != tc.g0 || got.G1.A != tc.g1 || got.G2.A != tc.g2 {
			t.Errorf("%q: got %q %q %q, want %q %q %q", tc.changed, got.G0.A, got.G1.A, got.G2.A, tc.g0, tc.g1, tc.g2)
		}
	}
}
