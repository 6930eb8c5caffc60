package session

import (
	"maps"
	"testing"
)

func TestStreamMapAnswerTakesTheStream(t *testing.T) {
	m := streamMap{}
	a, b, c := &keyState{key: "a"}, &keyState{key: "b"}, &keyState{key: "c"}
	m.bind(a, 10)
	m.bind(b, 11)
	m.bind(c, 12)
	// The server answers b on a's proposed id, then a on b's: both end
	// bound to the server's ids.
	m.bind(b, 10)
	if want := (streamMap{10: "b", 12: "c"}); !maps.Equal(m, want) {
		t.Fatalf("after b's answer: %v, want %v", m, want)
	}
	m.bind(a, 11)
	if want := (streamMap{10: "b", 11: "a", 12: "c"}); !maps.Equal(m, want) {
		t.Fatalf("after a's answer: %v, want %v", m, want)
	}
	if a.stream != 11 || b.stream != 10 {
		t.Fatalf("a on %d, b on %d", a.stream, b.stream)
	}
	// Releasing a key whose id was taken leaves the taker's binding.
	m.bind(c, 11)
	m.unbind(a)
	if want := (streamMap{10: "b", 11: "c"}); !maps.Equal(m, want) || a.stream != 0 {
		t.Fatalf("after a's release: %v (a on %d), want %v", m, a.stream, want)
	}
}

func TestStreamMapBindFreeKeepsOtherKeys(t *testing.T) {
	m := streamMap{}
	a, b := &keyState{key: "a"}, &keyState{key: "b"}
	m.bind(a, 10)
	m.bind(b, 11)
	m.bindFree(b, 10)
	if want := (streamMap{10: "a", 11: "b"}); !maps.Equal(m, want) || b.stream != 11 {
		t.Fatalf("a taken over: %v (b on %d)", m, b.stream)
	}
	m.bindFree(b, 20)
	if want := (streamMap{10: "a", 20: "b"}); !maps.Equal(m, want) || b.stream != 20 {
		t.Fatalf("free id: %v (b on %d), want %v", m, b.stream, want)
	}
	m.bindFree(b, 20)
	if m.key(20) != "b" || m.key(11) != "" {
		t.Fatalf("same id again: %v", m)
	}
}
