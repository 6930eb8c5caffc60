package pvec

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func check(t *testing.T, v Vec[int], want []int) {
	t.Helper()
	if v.Len() != len(want) {
		t.Fatalf("Len %d, want %d", v.Len(), len(want))
	}
	for i, x := range want {
		if got, ok := v.Get(i); !ok || got != x {
			t.Fatalf("Get(%d) = %d, %v; want %d", i, got, ok, x)
		}
	}
	for _, i := range []int{-1, len(want)} {
		if _, ok := v.Get(i); ok {
			t.Fatalf("Get(%d) in range of %d elements", i, len(want))
		}
	}
	var all []int
	for i, x := range v.All() {
		if i != len(all) {
			t.Fatalf("All yields index %d at position %d", i, len(all))
		}
		all = append(all, x)
	}
	if !slices.Equal(all, want) {
		t.Fatalf("All yields %d elements that differ from the %d wanted", len(all), len(want))
	}
}

// TestAgainstSlice appends and sets at random, from vectors built by
// FromSlice and by Append, and checks each version against a slice, and
// that earlier versions keep what they held.
func TestAgainstSlice(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 9))
	for _, start := range []int{0, 1, 31, 32, 33, 1023, 1024, 1025, 40000} {
		s := make([]int, start)
		for i := range s {
			s[i] = i
		}
		v := FromSlice(s)
		check(t, v, s)
		type version struct {
			v    Vec[int]
			want []int
		}
		var history []version
		for step := range 2000 {
			if len(s) > 0 && r.IntN(2) == 0 {
				i, x := r.IntN(len(s)), r.Int()
				v = v.Set(i, x)
				s[i] = x
			} else {
				x := r.Int()
				v = v.Append(x)
				s = append(s, x)
			}
			if step%100 == 0 {
				check(t, v, s)
				history = append(history, version{v, slices.Clone(s)})
			}
		}
		check(t, v, s)
		for _, h := range history {
			check(t, h.v, h.want)
		}
	}
}
