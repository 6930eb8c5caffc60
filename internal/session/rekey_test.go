package session

import (
	"reflect"
	"testing"
)

func pending(m *Mailbox) []string {
	var out []string
	for {
		d, ok := m.Next()
		if !ok {
			return out
		}
		kind := d.Kind.String()
		if d.Kind == KindForget {
			kind = "forget"
		}
		out = append(out, d.Key+":"+kind)
	}
}

func TestMailboxForget(t *testing.T) {
	// Conflating, with a key index: the removed keys' updates go, the
	// index follows.
	var m Mailbox
	m.init(0, nil, nil)
	for _, k := range []string{"a", "b", "c", "d"} {
		m.Push(Delivery{Key: k, Kind: KindDelta})
	}
	m.forget(map[string]bool{"b": true, "d": true}, false)
	m.Push(Delivery{Key: "c", Kind: KindDelta}) // conflated with the c still queued
	if got, want := pending(&m), []string{"a:delta", "c:delta"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("conflating: %v, want %v", got, want)
	}

	// Buffered, with marks: full buffer, yet the marks fit.
	var b Mailbox
	b.init(2, nil, nil)
	b.Push(Delivery{Key: "a", Kind: KindDelta})
	b.Push(Delivery{Key: "b", Kind: KindDelta})
	b.forget(map[string]bool{"a": true}, true)
	if !b.Live() {
		t.Fatal("forget ended the mailbox")
	}
	if got, want := pending(&b), []string{"b:delta", "a:forget"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("buffered: %v, want %v", got, want)
	}
}
