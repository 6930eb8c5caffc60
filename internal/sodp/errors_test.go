package sodp

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNamesKey(t *testing.T) {
	tests := []struct {
		msg, key string
		want     bool
	}{
		{"forbidden: svc.config", "svc.config", true},
		{"access denied: svc.config.", "svc.config", true},
		{"svc.config is read-only", "svc.config", true},
		{"forbidden: svc.config.db", "svc.config", false},
		{"forbidden: my_svc.config", "svc.config", false},
		{"forbidden: game.score", "game", false},
		{"game is refused", "game", true},
		{"forbidden", "svc.config", false},
		{"forbidden: x", "", false},
		{"a.b then a.b.c", "a.b", true},
		{"a.b.c then xa.b", "a.b", false},
	}
	for _, tc := range tests {
		if got := namesKey(tc.msg, tc.key); got != tc.want {
			t.Errorf("namesKey(%q, %q) = %v, want %v", tc.msg, tc.key, got, tc.want)
		}
	}
	e := &ServerError{Code: 403, Message: "forbidden: svc.config", Key: "svc.config", Method: "state.set"}
	if got, want := e.Error(), "sodp: server error 403: forbidden: svc.config (state.set)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	e = &ServerError{Code: 403, Message: "forbidden", Key: "svc.config"}
	if got, want := e.Error(), "sodp: server error 403: forbidden (key svc.config)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
