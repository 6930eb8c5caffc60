package pmap

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// check compares m with the plain map want: Len, Get of every key and of
// absent ones, and All.
func check(t *testing.T, m Map[int], want map[string]int, get func(Map[int], string) (int, bool)) {
	t.Helper()
	if m.Len() != len(want) {
		t.Fatalf("Len %d, want %d", m.Len(), len(want))
	}
	for k, v := range want {
		if got, ok := get(m, k); !ok || got != v {
			t.Fatalf("Get(%q) = %d, %v; want %d", k, got, ok, v)
		}
	}
	for _, k := range []string{"absent", "", "k-1"} {
		if _, in := want[k]; in {
			continue
		}
		if _, ok := get(m, k); ok {
			t.Fatalf("Get(%q) found a key the map does not hold", k)
		}
	}
	seen := map[string]int{}
	for k, v := range m.All() {
		if _, dup := seen[k]; dup {
			t.Fatalf("All yields %q twice", k)
		}
		seen[k] = v
	}
	if !maps.Equal(seen, want) {
		t.Fatalf("All yields %d entries that differ from the %d wanted", len(seen), len(want))
	}
}

// TestAgainstMap applies random changes, single and in editors, to a Map
// and to a plain map, and checks after each that they hold the same, and
// that every earlier version still holds what it held.
func TestAgainstMap(t *testing.T) {
	for _, tc := range []struct {
		name string
		hash func(string) uint64
		keys int
	}{
		{"maphash", nil, 3000},
		{"few hashes", func(k string) uint64 { return uint64(len(k)%4) * 0x9e3779b97f4a7c15 }, 60},
		{"equal hashes", func(string) uint64 { return 42 }, 30},
		{"shared prefixes", func(k string) uint64 { return uint64(len(k)) << 55 }, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			get := func(m Map[int], k string) (int, bool) {
				if tc.hash == nil {
					return m.Get(k)
				}
				if p := m.ref(k, tc.hash(k)); p != nil {
					return *p, true
				}
				return 0, false
			}
			var m Map[int]
			want := map[string]int{}
			type version struct {
				m    Map[int]
				want map[string]int
			}
			var history []version
			for step := range 400 {
				e := m.Edit()
				e.hashFn = tc.hash
				for range 1 + r.IntN(20) {
					k := fmt.Sprintf("k%d", r.IntN(tc.keys))
					h := e.hash(k)
					if r.IntN(3) == 0 {
						e.deleteHashed(k, h)
						delete(want, k)
					} else {
						v := r.Int()
						e.setHashed(k, h, v)
						want[k] = v
					}
				}
				if e.Len() != len(want) {
					t.Fatalf("step %d: editor Len %d, want %d", step, e.Len(), len(want))
				}
				m = e.Finish()
				check(t, m, want, get)
				if step%20 == 0 {
					history = append(history, version{m, maps.Clone(want)})
				}
			}
			for _, v := range history {
				check(t, v.m, v.want, get)
			}
		})
	}
}

// TestSetDeleteKeepOld checks that Set and Delete leave the map they are
// called on as it was.
func TestSetDeleteKeepOld(t *testing.T) {
	var m Map[int]
	for i := range 1000 {
		m = m.Set(fmt.Sprint(i), i)
	}
	m2 := m.Set("5", -5).Delete("7").Set("new", 1)
	if v, _ := m.Get("5"); v != 5 {
		t.Fatalf("old map changed: 5 → %d", v)
	}
	if _, ok := m.Get("7"); !ok {
		t.Fatal("old map lost 7")
	}
	if _, ok := m.Get("new"); ok || m.Len() != 1000 {
		t.Fatal("old map gained a key")
	}
	if v, _ := m2.Get("5"); v != -5 || m2.Len() != 1000 {
		t.Fatalf("new map: 5 → %d, Len %d", v, m2.Len())
	}
	var empty Map[int]
	if empty.Delete("x").Len() != 0 {
		t.Fatal("delete from the empty map")
	}
	for i := range 1000 {
		m = m.Delete(fmt.Sprint(i))
	}
	if m.Len() != 0 || m.root != nil {
		t.Fatalf("all deleted: Len %d, root %v", m.Len(), m.root)
	}
}

// TestFromSlices checks a map built at once against a plain map, and
// that it can then be changed like any other.
func TestFromSlices(t *testing.T) {
	for _, n := range []int{0, 1, 2, 31, 33, 1000, 20000} {
		keys := make([]string, n)
		vals := make([]int, n)
		want := map[string]int{}
		for i := range n {
			keys[i], vals[i] = fmt.Sprintf("key%d", i), i
			want[keys[i]] = i
		}
		m := FromSlices(keys, vals)
		check(t, m, want, Map[int].Get)
		if n > 0 {
			m2 := m.Set("key0", -1).Delete(keys[n-1])
			check(t, m, want, Map[int].Get)
			want["key0"] = -1
			delete(want, keys[n-1])
			check(t, m2, want, Map[int].Get)
		}
	}
}

func BenchmarkBuild10k(b *testing.B) {
	keys := make([]string, 10000)
	for i := range keys {
		keys[i] = fmt.Sprintf("e%05d", i)
	}
	b.Run("pmap", func(b *testing.B) {
		for b.Loop() {
			e := Map[[3]int]{}.Edit()
			for _, k := range keys {
				e.Set(k, [3]int{})
			}
			e.Finish()
		}
	})
	b.Run("slices", func(b *testing.B) {
		vals := make([][3]int, len(keys))
		for b.Loop() {
			FromSlices(keys, vals)
		}
	})
	b.Run("gomap", func(b *testing.B) {
		for b.Loop() {
			m := make(map[string][3]int, len(keys))
			for _, k := range keys {
				m[k] = [3]int{}
			}
		}
	})
	b.Run("set1", func(b *testing.B) {
		e := Map[[3]int]{}.Edit()
		for _, k := range keys {
			e.Set(k, [3]int{})
		}
		m := e.Finish()
		i := 0
		for b.Loop() {
			m = m.Set(keys[i%len(keys)], [3]int{i})
			i++
		}
	})
}
