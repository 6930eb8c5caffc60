package session

import (
	"maps"
	"testing"

	"github.com/sodp-go/client/internal/wire"
)

func TestStreamMapAnswerTakesTheStream(t *testing.T) {
	var m streamMap
	a, b, c := &keyState{key: "a"}, &keyState{key: "b"}, &keyState{key: "c"}
	m.bind(a, 10)
	m.bind(b, 11)
	m.bind(c, 12)
	// The server answers b on a's proposed id, then a on b's: both end
	// bound to the server's ids.
	m.bind(b, 10)
	if want := (map[uint32]string{10: "b", 12: "c"}); !maps.Equal(m.ids, want) {
		t.Fatalf("after b's answer: %v, want %v", m.ids, want)
	}
	m.bind(a, 11)
	if want := (map[uint32]string{10: "b", 11: "a", 12: "c"}); !maps.Equal(m.ids, want) {
		t.Fatalf("after a's answer: %v, want %v", m.ids, want)
	}
	if a.stream != 11 || b.stream != 10 {
		t.Fatalf("a on %d, b on %d", a.stream, b.stream)
	}
	// Releasing a key whose id was taken leaves the taker's binding.
	m.bind(c, 11)
	m.unbind(a)
	if want := (map[uint32]string{10: "b", 11: "c"}); !maps.Equal(m.ids, want) || a.stream != 0 {
		t.Fatalf("after a's release: %v (a on %d), want %v", m.ids, a.stream, want)
	}
}

func TestStreamMapBindFreeKeepsOtherKeys(t *testing.T) {
	var m streamMap
	a, b := &keyState{key: "a"}, &keyState{key: "b"}
	m.bind(a, 10)
	m.bind(b, 11)
	m.bindFree(b, 10)
	if want := (map[uint32]string{10: "a", 11: "b"}); !maps.Equal(m.ids, want) || b.stream != 11 {
		t.Fatalf("a taken over: %v (b on %d)", m.ids, b.stream)
	}
	m.bindFree(b, 20)
	if want := (map[uint32]string{10: "a", 20: "b"}); !maps.Equal(m.ids, want) || b.stream != 20 {
		t.Fatalf("free id: %v (b on %d), want %v", m.ids, b.stream, want)
	}
	m.bindFree(b, 20)
	if m.key(20) != "b" || m.key(11) != "" {
		t.Fatalf("same id again: %v", m.ids)
	}
}

// TestStreamMapNumbering checks the ids the client proposes: from
// FirstSubscriptionStream, one more each, on after a lost connection's
// bindings are cleared, and from FirstSubscriptionStream again on a new
// connection.
func TestStreamMapNumbering(t *testing.T) {
	var m streamMap
	a, b := &keyState{key: "a"}, &keyState{key: "b"}
	first := uint32(wire.FirstSubscriptionStream)
	if ia, ib := m.alloc(a), m.alloc(b); ia != first || ib != first+1 || m.key(ia) != "a" || m.key(ib) != "b" {
		t.Fatalf("ids %d, %d (bound %v), want %d, %d", ia, ib, m.ids, first, first+1)
	}
	if id := m.alloc(a); id != first+2 || m.key(first) != "" || a.stream != id {
		t.Fatalf("a again: id %d, bindings %v", id, m.ids)
	}
	m.clear()
	if m.len() != 0 {
		t.Fatalf("bindings left after clear: %v", m.ids)
	}
	if id := m.alloc(b); id != first+3 {
		t.Fatalf("after clear: id %d, want %d", id, first+3)
	}
	m.reset()
	if id := m.alloc(a); m.len() != 1 || id != first {
		t.Fatalf("after reset: id %d, bindings %v, want %d alone", id, m.ids, first)
	}
}
