package session

import "strings"

// Servers may repeat what they were sent in their error texts ("invalid
// token: eyJ…"). Whatever server text the client passes on — the message
// of an ERROR frame or of a failed RESULT, the reason of a close frame —
// goes through redact first, so that the token the client sent does not
// reach errors, Events or log lines.

// redacted replaces a secret in server text.
const redacted = "[redacted]"

// minSecret is the shortest secret redact looks for; a shorter token
// would match ordinary text, and hides nothing.
const minSecret = 4

// minSegment is the shortest part of a token (between dots, as in a JWT's
// header.payload.signature) that redact also looks for alone: a server
// may quote one part, the signature, say.
const minSegment = 16

// redact returns text with every occurrence of each secret, and of each
// long enough dot-separated part of it, replaced by [redacted].
func redact(text string, secrets ...string) string {
	for _, sec := range secrets {
		if len(sec) < minSecret || text == "" {
			continue
		}
		text = strings.ReplaceAll(text, sec, redacted)
		if !strings.Contains(sec, ".") {
			continue
		}
		for part := range strings.SplitSeq(sec, ".") {
			if len(part) >= minSegment {
				text = strings.ReplaceAll(text, part, redacted)
			}
		}
	}
	return text
}

// redactServer redacts server text with what the client knows is secret:
// the configured token and the token sent on the current connection (from
// the token provider).
func (s *Session) redactServer(text string) string {
	token := ""
	if s.conn != nil {
		token = s.conn.token
	}
	return redact(text, s.cfg.Token, token)
}
