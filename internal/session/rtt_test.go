package session

import (
	"testing"
	"time"
)

func TestRTTProbe(t *testing.T) {
	var r rttProbe
	ch, cancel := r.wait()
	defer cancel()
	// Pongs that are not the client's: ignored.
	for _, data := range []string{"", "hello", rttTag, rttTag + "12345678x", "sodp-rtX12345678"} {
		r.pong(data)
	}
	future := []byte(rttTag + "\x7f\xff\xff\xff\xff\xff\xff\xff")
	r.pong(string(future))
	if r.Last() != 0 || len(ch) != 0 {
		t.Fatalf("a foreign pong was measured: %s", r.Last())
	}
	// A ping written before a waiter registered does not answer it, but
	// is measured.
	r.pong(rttTag + "\x00\x00\x00\x00\x00\x00\x00\x00") // written at rttBase
	if r.Last() <= 0 {
		t.Fatal("our pong was not measured")
	}
	if len(ch) != 0 {
		t.Fatal("a waiter took the pong of a ping written before it asked")
	}
	ch2, cancel2 := r.wait()
	defer cancel2()
	r.pong(string(r.payload()))
	for _, c := range []chan time.Duration{ch, ch2} {
		select {
		case d := <-c:
			if d <= 0 {
				t.Fatalf("round trip %s", d)
			}
		default:
			t.Fatal("a waiter was not answered")
		}
	}
	if len(r.waiters) != 0 {
		t.Fatalf("%d still waiting", len(r.waiters))
	}
}
