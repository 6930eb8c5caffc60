package session

import "testing"

// TestRedialCounts checks the counts the back-off decides by: a 401 allows
// one more dial with a token provider and none without, and a dial that
// fails fast gives up once each endpoint failed.
func TestRedialCounts(t *testing.T) {
	r := newRedial()
	defer r.stop()
	if !r.refusedAgain(true) || r.refusedAgain(true) {
		t.Fatal("with a token provider, the first 401 dials again and the second does not")
	}
	r.unauthorized = 0
	if r.refusedAgain(false) {
		t.Fatal("without a token provider a 401 dialed again")
	}
	if r.lastAttempt(3) {
		t.Fatal("the first of three endpoints was the last attempt")
	}
	r.failures = 2
	if !r.lastAttempt(3) {
		t.Fatal("the third of three endpoints was not the last attempt")
	}
}
