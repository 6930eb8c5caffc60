package sodp

import (
	"testing"

	"github.com/sodp-go/client/internal/convert"
	"github.com/sodp-go/client/internal/session"
)

type allocGroup struct {
	A int64  `msgpack:"a"`
	B string `msgpack:"b"`
}

type allocValue struct {
	G0 allocGroup `msgpack:"g0"`
	G1 allocGroup `msgpack:"g1"`
	G2 allocGroup `msgpack:"g2"`
}

// TestTypedConversionAllocatesNothingPerUpdate: once a key's value has
// changed, a struct T of flat parts is built from the previous one into
// the variable kept for it, with no allocation per update (a T allocated
// per update and never used once cost a whole T each time).
func TestTypedConversionAllocatesNothingPerUpdate(t *testing.T) {
	s := &Subscription[allocValue]{reuse: convert.Reuses[allocValue]()}
	g0 := map[string]any{"a": int64(0), "b": "zero"}
	g2 := map[string]any{"a": int64(2), "b": "two"}
	// Two consecutive values of one key share the groups no delta
	// touched, as the client's copies do.
	trees := [2]map[string]any{
		{"g0": g0, "g1": map[string]any{"a": int64(1), "b": "one"}, "g2": g2},
		{"g0": g0, "g1": map[string]any{"a": int64(10), "b": "ten"}, "g2": g2},
	}
	deliveries := [2]session.Delivery{
		{Key: "k", Value: trees[0], Version: 1, Initialized: true, Kind: session.KindDelta},
		{Key: "k", Value: trees[1], Version: 2, Initialized: true, Kind: session.KindDelta},
	}
	for i := range 3 { // the first values set up what is kept
		s.convert(deliveries[i%2])
	}
	i := 1
	allocs := testing.AllocsPerRun(100, func() {
		i++
		u := s.convert(deliveries[i%2])
		if u.Err != nil || u.Value.G1.A != trees[i%2]["g1"].(map[string]any)["a"] {
			t.Fatalf("update %d: %+v", i, u)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per typed update, want 0", allocs)
	}
}
