package sodp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sodp-go/client/internal/wire"
	"github.com/sodp-go/client/sodp"
	"github.com/sodp-go/client/sodp/sodptest"
)

// lockedBuffer is a bytes.Buffer safe for the logger's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wsClose frames a close message with code and reason.
func wsClose(code uint16, reason string) []byte {
	payload := binary.BigEndian.AppendUint16(nil, code)
	payload = append(payload, reason...)
	return append([]byte{0x88, byte(len(payload))}, payload...)
}

// A server that repeats the client's token in its error texts — an ERROR
// 401 message, a close frame's reason — does not make the client put the
// token in its errors, its Events or its log lines; the rest of the text
// is kept. The token is the option's or the token provider's.
func TestServerTextRedactsToken(t *testing.T) {
	const token = "tok-3f9a1c.payload-part-long-enough.signature-part-long-enough"
	scripts := map[string]func(c net.Conn){
		"error 401": func(c net.Conn) {
			c.Write(wsMessage(frameBytes(t, wire.TypeError, 0, map[string]any{"code": 401, "message": "invalid token: " + token})))
		},
		"close reason": func(c net.Conn) {
			c.Write(wsClose(1008, "bad signature signature-part-long-enough"))
		},
	}
	sources := map[string]sodp.Option{
		"option":   sodp.WithToken(token),
		"provider": sodp.WithTokenProvider(func(context.Context) (string, error) { return token, nil }),
	}
	for sname, script := range scripts {
		for oname, opt := range sources {
			t.Run(sname+"/"+oname, func(t *testing.T) {
				hello := frameBytes(t, wire.TypeHello, 0, map[string]any{"protocol": "sodp", "version": "1.0", "auth": true})
				srv := newRawServer(t, func(c net.Conn) {
					if _, err := acceptUpgrade(c, ""); err != nil {
						return
					}
					c.Write(wsMessage(hello))
					script(c)
					untilClosed(c)
				})
				var logs lockedBuffer
				log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				ctx, cancel := context.WithTimeout(context.Background(), wait)
				defer cancel()
				c, err := sodp.Dial(ctx, srv.URL, opt, sodp.WithLogger(log), sodp.WithBackoff(time.Hour, time.Hour))
				if err == nil {
					c.Close()
					t.Fatal("Dial succeeded")
				}
				if strings.Contains(err.Error(), "long-enough") || strings.Contains(err.Error(), "tok-3f9a1c") {
					t.Errorf("Dial's error holds the token: %v", err)
				}
				if !strings.Contains(err.Error(), "[redacted]") {
					t.Errorf("Dial's error %q lost the server's text", err)
				}
				if strings.Contains(logs.String(), "long-enough") {
					t.Errorf("the log holds the token:\n%s", logs.String())
				}
			})
		}
	}
}

// The same on a live session: an ERROR frame that belongs to no request
// reaches Events without the token.
func TestSessionErrorRedactsToken(t *testing.T) {
	srv := newServer(t, sodptest.WithAuth([]byte("k")))
	token := srv.Token("alice", time.Hour)
	var logs lockedBuffer
	c := dial(t, srv.URL, sodp.WithToken(token), sodp.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	events := c.Events()
	srv.Conns()[0].Send(0x07, 0, map[string]any{"code": 500, "message": "session of " + token + " in trouble"})
	for ev := range events {
		if ev.Err == nil {
			continue
		}
		var se *sodp.ServerError
		if !errors.As(ev.Err, &se) || se.Message != "session of [redacted] in trouble" || strings.Contains(ev.Err.Error(), token) {
			t.Fatalf("event %v (server error %+v)", ev.Err, se)
		}
		break
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("the log holds the token:\n%s", logs.String())
	}
}
