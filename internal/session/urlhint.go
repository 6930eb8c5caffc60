package session

import (
	"fmt"
	"strings"
)

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
