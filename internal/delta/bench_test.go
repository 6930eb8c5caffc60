package delta

import (
	"maps"
	"strconv"
	"testing"
)

func flatObject(n int) map[string]any {
	m := make(map[string]any, n)
	for i := range n {
		m["field"+strconv.Itoa(i)] = int64(i)
	}
	return m
}

func benchApply(b *testing.B, v any, ops []Op) {
	b.Helper()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Apply(v, ops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplyFlat10(b *testing.B) {
	benchApply(b, flatObject(10), []Op{update("/field5", int64(-1))})
}

// BenchmarkApplyFlat10Ops3 applies three UPDATEs in one call.
func BenchmarkApplyFlat10Ops3(b *testing.B) {
	benchApply(b, flatObject(10), []Op{update("/field1", int64(-1)), update("/field5", int64(-1)), update("/field9", int64(-1))})
}

func BenchmarkApplyFlat1000(b *testing.B) {
	benchApply(b, flatObject(1000), []Op{update("/field500", int64(-1))})
}

// BenchmarkApplyFlat1000Ops10 applies ten UPDATEs in one call; the object is
// copied once and then changed in place.
func BenchmarkApplyFlat1000Ops10(b *testing.B) {
	ops := make([]Op, 10)
	for i := range ops {
		ops[i] = update("/field"+strconv.Itoa(i*97), int64(-1))
	}
	benchApply(b, flatObject(1000), ops)
}

// BenchmarkApplyAppend10000 appends to the newest value each time, as the
// client does, on an array of 10 000 to 11 000 elements: every 1000 appends it
// starts again from a 10 000-element array that Apply allocated (the copy
// that makes it is not timed). The cost includes the copies made when the
// spare capacity runs out.
func BenchmarkApplyAppend10000(b *testing.B) {
	plain := make([]any, 9999)
	for i := range plain {
		plain[i] = int64(i)
	}
	ops := []Op{add("/-", "x")}
	b.ReportAllocs()
	var v any
	i := 0
	for b.Loop() {
		if i%1000 == 0 {
			b.StopTimer()
			v, _, _ = Apply(plain, ops)
			b.StartTimer()
		}
		i++
		var err error
		if v, _, err = Apply(v, ops); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApplyAppend10000SameBase appends to the same 10 000-element value
// every time, so every append but the first must copy the array.
func BenchmarkApplyAppend10000SameBase(b *testing.B) {
	base := make([]any, 10000)
	for i := range base {
		base[i] = int64(i)
	}
	benchApply(b, base, []Op{add("/-", "x")})
}

// BenchmarkApplyAppend10 appends to a 10-element array (copied every time).
func BenchmarkApplyAppend10(b *testing.B) {
	base := make([]any, 10)
	for i := range base {
		base[i] = int64(i)
	}
	benchApply(b, base, []Op{add("/-", "x")})
}

func nestedObject(groups, fields int) map[string]any {
	m := make(map[string]any, groups)
	for g := range groups {
		m["g"+strconv.Itoa(g)] = flatObject(fields)
	}
	return m
}

func BenchmarkApplyNested100(b *testing.B) {
	benchApply(b, nestedObject(10, 10), []Op{update("/g5/field7", int64(-1))})
}

// BenchmarkApplyDeep7 updates a leaf seven levels down in a tree with four
// fields per object (5461 objects).
func BenchmarkApplyDeep7(b *testing.B) {
	var build func(depth int) any
	build = func(depth int) any {
		if depth == 0 {
			return int64(depth)
		}
		m := make(map[string]any, 4)
		for i := range 4 {
			m["k"+strconv.Itoa(i)] = build(depth - 1)
		}
		return m
	}
	benchApply(b, build(7), []Op{update("/k1/k2/k3/k0/k1/k2/k3", int64(-1))})
}

func BenchmarkApplyEscapedPath(b *testing.B) {
	v := map[string]any{"a/b": map[string]any{"~x": int64(1), "y": int64(2)}}
	benchApply(b, v, []Op{update("/a~1b/~0x", int64(-1))})
}

func BenchmarkDiffFlat10(b *testing.B) {
	old := flatObject(10)
	new := flatObject(10)
	new["field3"] = int64(-1)
	b.ReportAllocs()
	for b.Loop() {
		if len(Diff(old, new)) != 1 {
			b.Fatal("wrong diff")
		}
	}
}

func BenchmarkDiffFlat10Equal(b *testing.B) {
	old, new := flatObject(10), flatObject(10)
	b.ReportAllocs()
	for b.Loop() {
		if Diff(old, new) != nil {
			b.Fatal("wrong diff")
		}
	}
}

func BenchmarkParsePointer(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePointer("/users/alice/profile/name"); err != nil {
			b.Fatal(err)
		}
	}
}

// The baselines time the copies that the Apply benchmarks above cannot
// avoid: one maps.Clone plus one store, and one copy of a 10 000-element
// array with room for one more element.

var benchSink any

func BenchmarkBaselineMapsClone10(b *testing.B) {
	m := flatObject(10)
	b.ReportAllocs()
	for b.Loop() {
		c := maps.Clone(m)
		c["field5"] = int64(-1)
		benchSink = c
	}
}

func BenchmarkBaselineMapsClone1000(b *testing.B) {
	m := flatObject(1000)
	b.ReportAllocs()
	for b.Loop() {
		c := maps.Clone(m)
		c["field500"] = int64(-1)
		benchSink = c
	}
}

func BenchmarkBaselineSliceCopy10000(b *testing.B) {
	s := make([]any, 10000)
	b.ReportAllocs()
	for b.Loop() {
		benchSink = append(s[:len(s):len(s)], "x")
	}
}

// BenchmarkApplyWide10000 is one delta on one entry of a 10,000-entry map
// with Apply, which copies the map; BenchmarkOwnerWide10000 is the same
// delta through an Owner that owns the map, with the changed entry handed
// out (frozen) after each delta, as to a subscriber of that entry.
func BenchmarkApplyWide10000(b *testing.B) {
	v := any(wide(10000))
	ops := []Op{{Op: OpUpdate, Path: "/e42/v", Value: int64(1)}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := ApplyState(v, true, ops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOwnerWide10000(b *testing.B) {
	var o Owner
	v := any(wide(10000))
	ops := []Op{{Op: OpUpdate, Path: "/e42/v", Value: int64(1)}}
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if v, _, err = o.ApplyState(v, true, ops, -1); err != nil {
			b.Fatal(err)
		}
		o.Freeze(v.(map[string]any)["e42"])
	}
}
