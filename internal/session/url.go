package session

// Endpoint URLs: the schemes the client takes, checked and normalised
// once (New), and written without credentials in logs and errors.

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// NormalizeURL maps the sodp:// and sodps:// schemes to ws:// and wss://
// and checks that the URL is a WebSocket URL.
func NormalizeURL(raw string) (string, error) {
	if err := schemeMissing(raw); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error repeats the URL, credentials included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("%w: %w", ErrInvalidURL, err)
	}
	shown := RedactURL(raw)
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "sodp", "ws":
		u.Scheme = "ws"
	case "sodps", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("%w %q: scheme must be ws, wss, sodp or sodps", ErrInvalidURL, shown)
	}
	if u.Host == "" {
		return "", fmt.Errorf("%w %q: no host", ErrInvalidURL, shown)
	}
	if u.User != nil {
		// The WebSocket dialer refuses such URLs on every attempt.
		return "", fmt.Errorf("%w %q: user information is not allowed in a WebSocket URL (use WithToken or WithHeader)", ErrInvalidURL, shown)
	}
	if (scheme == "sodp" || scheme == "sodps") && u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "7777")
	}
	return u.String(), nil
}

// RedactURL drops user information and the query (where credentials may
// hide) from a URL for logs and errors.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "invalid-url"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

// schemeMissing reports a URL written as a bare address ("127.0.0.1:7777",
// "localhost:7777"), which url.Parse rejects with a message about path
// segments or reads as a scheme "localhost", with the URL that was meant.
func schemeMissing(raw string) error {
	if raw == "" || strings.Contains(raw, "://") {
		return nil
	}
	shown := strings.TrimPrefix(RedactURL("ws://"+raw), "ws://")
	return fmt.Errorf("%w %q: no scheme (want ws://, wss://, sodp:// or sodps://, as in %q)", ErrInvalidURL, shown, "ws://"+shown)
}
