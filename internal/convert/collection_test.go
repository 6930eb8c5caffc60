package convert

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/sodp-go/client/internal/delta"
	"github.com/sodp-go/client/internal/pmap"
	"github.com/sodp-go/client/internal/pvec"
)

type cursor struct {
	X    float64 `msgpack:"x"`
	Y    float64 `msgpack:"y"`
	Name string  `msgpack:"name"`
}

type room struct {
	Title   string              `msgpack:"title"`
	Cursors pmap.Map[cursor]    `msgpack:"cursors"`
	Nested  pmap.Map[nestedRow] `msgpack:"nested"`
	Seen    int64               `msgpack:"seen"`
	Log     pvec.Vec[cursor]    `msgpack:"log"`
}

type nestedRow struct {
	Total int64                  `msgpack:"total"`
	Parts pmap.Map[int64]        `msgpack:"parts"`
	Inner struct{ A, B float64 } `msgpack:"inner"`
}

// plainRoom is room with plain maps, the form To gives for comparison.
type plainRoom struct {
	Title   string
	Cursors map[string]cursor
	Nested  map[string]plainRow
	Seen    int64
	Log     []cursor
}

type plainRow struct {
	Total int64
	Parts map[string]int64
	Inner struct{ A, B float64 }
}

func toPlain(r room) plainRoom {
	p := plainRoom{Title: r.Title, Seen: r.Seen, Cursors: map[string]cursor{}, Nested: map[string]plainRow{}}
	for k, v := range r.Cursors.All() {
		p.Cursors[k] = v
	}
	for k, v := range r.Nested.All() {
		row := plainRow{Total: v.Total, Inner: v.Inner, Parts: map[string]int64{}}
		for pk, pv := range v.Parts.All() {
			row.Parts[pk] = pv
		}
		p.Nested[k] = row
	}
	for _, c := range r.Log.All() {
		p.Log = append(p.Log, c)
	}
	return p
}

func equalPlain(a, b plainRoom) bool {
	if a.Title != b.Title || a.Seen != b.Seen || !maps.Equal(a.Cursors, b.Cursors) || len(a.Nested) != len(b.Nested) || !slices.Equal(a.Log, b.Log) {
		return false
	}
	for k, ra := range a.Nested {
		rb, ok := b.Nested[k]
		if !ok || ra.Total != rb.Total || ra.Inner != rb.Inner || !maps.Equal(ra.Parts, rb.Parts) {
			return false
		}
	}
	return true
}

// randomOps returns one delta's ops on a room value.
func randomOps(r *rand.Rand, v map[string]any) []delta.Op {
	var ops []delta.Op
	for range 1 + r.IntN(8) {
		k := fmt.Sprintf("u%d", r.IntN(40))
		var op delta.Op
		logLen := 0
		if l, ok := v["log"].([]any); ok {
			logLen = len(l)
		}
		switch r.IntN(14) {
		case 10, 11:
			if logLen == 0 {
				op = delta.Op{Op: delta.OpAdd, Path: "/log/-", Value: map[string]any{"name": "first"}}
			} else {
				op = delta.Op{Op: delta.OpUpdate, Path: fmt.Sprintf("/log/%d/x", r.IntN(logLen)), Value: float64(r.IntN(100))}
			}
		case 12:
			op = delta.Op{Op: delta.OpAdd, Path: "/log/-", Value: map[string]any{"x": float64(r.IntN(100)), "name": k}}
		case 13:
			if logLen > 0 && r.IntN(2) == 0 {
				op = delta.Op{Op: delta.OpRemove, Path: fmt.Sprintf("/log/%d", r.IntN(logLen))}
			} else {
				op = delta.Op{Op: delta.OpUpdate, Path: fmt.Sprintf("/log/%d", max(logLen-1, 0)), Value: map[string]any{"y": 3.0}}
				if logLen == 0 {
					op = delta.Op{Op: delta.OpAdd, Path: "/log/-", Value: map[string]any{"y": 3.0}}
				}
			}
		case 0:
			op = delta.Op{Op: delta.OpRemove, Path: "/cursors/" + k}
			if c, _ := v["cursors"].(map[string]any); c[k] == nil {
				op = delta.Op{Op: delta.OpAdd, Path: "/cursors/" + k, Value: map[string]any{"x": 1.5, "name": k}}
			}
		case 1, 2:
			op = delta.Op{Op: delta.OpAdd, Path: "/cursors/" + k, Value: map[string]any{"x": float64(r.IntN(100)), "y": 2.5, "name": k}}
		case 3:
			op = delta.Op{Op: delta.OpAdd, Path: "/nested/" + k, Value: map[string]any{"total": int64(r.IntN(9)), "parts": map[string]any{"a": int64(1)}}}
		case 4:
			op = delta.Op{Op: delta.OpAdd, Path: "/title", Value: fmt.Sprint("t", r.IntN(9))}
		case 5:
			if r.IntN(8) == 0 {
				op = delta.Op{Op: delta.OpAdd, Path: "/cursors", Value: map[string]any{k: map[string]any{"y": 7.0}}}
			} else {
				op = delta.Op{Op: delta.OpAdd, Path: "/seen", Value: int64(r.IntN(1000))}
			}
		default:
			// A field of an entry that may not exist: Apply refuses an op
			// whose parent is missing, so make the entry first.
			c, _ := v["cursors"].(map[string]any)
			if c[k] == nil {
				op = delta.Op{Op: delta.OpAdd, Path: "/cursors/" + k, Value: map[string]any{"name": k}}
			} else if r.IntN(2) == 0 {
				op = delta.Op{Op: delta.OpAdd, Path: "/cursors/" + k + "/x", Value: float64(r.IntN(100))}
			} else {
				n, _ := v["nested"].(map[string]any)
				if n[k] == nil {
					op = delta.Op{Op: delta.OpAdd, Path: "/nested/" + k, Value: map[string]any{"parts": map[string]any{}}}
				} else {
					op = delta.Op{Op: delta.OpAdd, Path: "/nested/" + k + "/parts/p" + fmt.Sprint(r.IntN(3)), Value: int64(r.IntN(50))}
				}
			}
		}
		next, _, err := delta.Apply(v, []delta.Op{op})
		if err != nil {
			panic(fmt.Sprintf("op %+v: %v", op, err))
		}
		v = next.(map[string]any)
		ops = append(ops, op)
	}
	return ops
}

// TestCollectionReuseAgainstTo converts random delta streams of a value
// holding collections by path, from a copy changed in place (as a
// subscription keeping its own copy does) and from copies that share
// their untouched containers (as conflated updates do), and checks every
// result against To, and that no value handed out ever changes.
func TestCollectionReuseAgainstTo(t *testing.T) {
	for _, inPlace := range []bool{true, false} {
		t.Run(fmt.Sprintf("inPlace=%v", inPlace), func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 11))
			var v any = map[string]any{"title": "a", "cursors": map[string]any{}, "nested": map[string]any{}, "log": []any{}}
			var own delta.Owner
			var prev room
			if err := To(v, &prev); err != nil {
				t.Fatal(err)
			}
			type handed struct {
				v    room
				want plainRoom
			}
			var out []handed
			for step := range 3000 {
				ops := randomOps(r, v.(map[string]any))
				var err error
				if inPlace {
					v, _, err = own.ApplyState(v, true, ops, -1)
				} else {
					v, _, err = delta.Apply(v, ops)
				}
				if err != nil {
					t.Fatal(err)
				}
				changed := make([]string, 0, len(ops))
				for _, op := range ops {
					changed = append(changed, delta.ChangedPath(op))
				}
				var got, want room
				if err := ReusingChanged(v, changed, &prev, &got); err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				if err := To(v, &want); err != nil {
					t.Fatal(err)
				}
				if g, w := toPlain(got), toPlain(want); !equalPlain(g, w) {
					t.Fatalf("step %d (ops %+v): by path %+v, To %+v", step, ops, g, w)
				}
				if step%50 == 0 {
					out = append(out, handed{got, toPlain(got)})
				}
				prev = got
			}
			for i, h := range out {
				if !equalPlain(toPlain(h.v), h.want) {
					t.Fatalf("value %d handed out changed afterwards", i)
				}
			}
		})
	}
}

// TestCollectionSharesUntouched checks that a conversion by path shares
// the entries no path names and converts those it names: an entry the
// value no longer holds is dropped.
func TestCollectionSharesUntouched(t *testing.T) {
	m := map[string]any{}
	for i := range 1000 {
		m[fmt.Sprintf("k%d", i)] = map[string]any{"x": float64(i), "name": "n"}
	}
	var prev, got pmap.Map[cursor]
	if err := To(m, &prev); err != nil {
		t.Fatal(err)
	}
	m["k5"].(map[string]any)["x"] = -5.0 // in place, as an own copy changes
	delete(m, "k6")
	m["k6000"] = map[string]any{"x": 6.0}
	m["k7"].(map[string]any)["x"] = -7.0 // not named: must not be seen
	if err := ReusingChanged(m, []string{"/k5/x", "/k6", "/k6000"}, &prev, &got); err != nil {
		t.Fatal(err)
	}
	if c, _ := got.Get("k5"); c.X != -5 {
		t.Errorf("k5 = %+v, want x -5", c)
	}
	if _, ok := got.Get("k6"); ok {
		t.Error("k6 was removed but is still there")
	}
	if c, ok := got.Get("k6000"); !ok || c.X != 6 {
		t.Errorf("k6000 = %+v, %v", c, ok)
	}
	if c, _ := got.Get("k7"); c.X != 7 {
		t.Errorf("k7 = %+v: an entry no path names was converted again", c)
	}
	if got.Len() != 1000 || prev.Len() != 1000 {
		t.Errorf("Len %d, previous %d; want 1000 both", got.Len(), prev.Len())
	}
	if c, _ := prev.Get("k5"); c.X != 5 {
		t.Errorf("the previous value changed: k5 = %+v", c)
	}
	if !Reuses[pmap.Map[cursor]]() || !ByPath[room]() || ByPath[cursor]() {
		t.Error("Reuses/ByPath")
	}
	// A value type with a slice is never shared: every entry converted.
	if Reuses[pmap.Map[[]int]]() || ByPath[pmap.Map[[]int]]() || Reuses[pvec.Vec[[]int]]() {
		t.Error("a Map or list of slices must not share its entries")
	}
	if !Reuses[pvec.Vec[cursor]]() || !ByPath[pvec.Vec[cursor]]() {
		t.Error("a list of flat structs must share its elements")
	}
}

func BenchmarkCollection10k(b *testing.B) {
	m := map[string]any{}
	for i := range 10000 {
		m[fmt.Sprintf("e%05d", i)] = map[string]any{"x": float64(i), "y": 1.5, "name": "user"}
	}
	b.Run("build/map", func(b *testing.B) {
		for b.Loop() {
			var d map[string]cursor
			_ = To(m, &d)
		}
	})
	b.Run("build/pmap", func(b *testing.B) {
		for b.Loop() {
			var d pmap.Map[cursor]
			_ = To(m, &d)
		}
	})
	b.Run("change1/pmap", func(b *testing.B) {
		var prev, d pmap.Map[cursor]
		_ = To(m, &prev)
		changed := []string{"/e00042/x"}
		for b.Loop() {
			_ = ReusingChanged(m, changed, &prev, &d)
			prev = d
		}
	})
}
