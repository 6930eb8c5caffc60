package pmap

import (
	"fmt"
	"maps"
	"testing"
)

// FuzzEdits applies the edits a byte string encodes (set or delete of one
// of 64 keys, in editors of a few edits each, under the real hash or one
// that collides often) and checks every version against a plain map.
func FuzzEdits(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 130, 5, 200, 255, 7})
	f.Add([]byte{1, 1, 1, 129, 129, 129})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		var hash func(string) uint64
		if ops[0]&1 == 1 {
			hash = func(k string) uint64 { return uint64(len(k)%3) << 62 }
		}
		get := func(m Map[int], k string) (int, bool) {
			h := hashOf(k)
			if hash != nil {
				h = hash(k)
			}
			if p := m.ref(k, h); p != nil {
				return *p, true
			}
			return 0, false
		}
		var m Map[int]
		want := map[string]int{}
		var olds []Map[int]
		var oldWants []map[string]int
		for i := 1; i < len(ops); {
			e := m.Edit()
			e.hashFn = hash
			for end := min(i+1+int(ops[i]%4), len(ops)); i < end; i++ {
				b := ops[i]
				k := fmt.Sprint("k", int(b&63)*int(b&63))
				if b&128 != 0 {
					e.deleteHashed(k, e.hash(k))
					delete(want, k)
				} else {
					e.setHashed(k, e.hash(k), i)
					want[k] = i
				}
			}
			m = e.Finish()
			check(t, m, want, get)
			olds = append(olds, m)
			oldWants = append(oldWants, maps.Clone(want))
		}
		for j := range olds {
			check(t, olds[j], oldWants[j], get)
		}
	})
}
