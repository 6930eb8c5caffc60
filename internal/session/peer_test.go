package session

import "testing"

// TestPeerSource checks that a key's versions stay comparable across a
// dial only to the same server: the source is kept until the new
// connection goes live, and then names its endpoint and identity.
func TestPeerSource(t *testing.T) {
	var p peer
	p.dialed("ws://a")
	p.helloID, p.authSent = "id-1", true
	p.live("ws://a")
	first := p.source
	p.dialed("ws://a")
	if p.source != first || p.helloID != "" || p.authSent || p.info.Endpoint != "ws://a" {
		t.Fatalf("after a new dial: %+v", p)
	}
	p.helloID = "id-2" // the same endpoint, another server behind it
	p.live("ws://a")
	if p.source == first {
		t.Fatal("another server identity behind the same endpoint gave the same source")
	}
	p.dialed("ws://a")
	p.helloID = "id-1"
	if p.live("ws://a"); p.source != first {
		t.Fatal("the first server again gave another source")
	}
}
