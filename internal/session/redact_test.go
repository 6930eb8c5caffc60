package session

import "testing"

func TestRedact(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MX0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
	cases := []struct {
		text    string
		secrets []string
		want    string
	}{
		{"invalid token: s3cr3t-token", []string{"s3cr3t-token"}, "invalid token: [redacted]"},
		{"s3cr3t s3cr3t", []string{"", "s3cr3t"}, "[redacted] [redacted]"},
		{"invalid token: " + jwt + " (expired)", []string{jwt}, "invalid token: [redacted] (expired)"},
		{"bad signature c2lnbmF0dXJlLW9mLXRoZS10b2tlbg", []string{jwt}, "bad signature [redacted]"},
		{"unauthorized: abc", []string{"abc"}, "unauthorized: abc"}, // too short to look for
		{"forbidden: game.score", []string{"s3cr3t-token", jwt}, "forbidden: game.score"},
		{"", []string{"s3cr3t"}, ""},
	}
	for _, c := range cases {
		if got := redact(c.text, c.secrets...); got != c.want {
			t.Errorf("redact(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}
