package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sodp-go/client/internal/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNormalizeURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"ws://h:1/x", "ws://h:1/x"},
		{"wss://h/", "wss://h/"},
		{"sodp://h", "ws://h:7777"},
		{"sodps://h/p", "wss://h:7777/p"},
		{"SODP://h:9", "ws://h:9"},
		{"sodp://[::1]", "ws://[::1]:7777"},
	}
	for _, c := range cases {
		got, err := NormalizeURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeURL(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"http://h", "h:7777", "ws://", "::"} {
		if _, err := NormalizeURL(bad); err == nil {
			t.Errorf("NormalizeURL(%q) succeeded", bad)
		}
	}
}

func TestRecognise(t *testing.T) {
	cases := []struct {
		h    wire.Hello
		want Dialect
	}{
		{wire.Hello{Protocol: "sodp", Version: "1.0", Server: "anything"}, DialectSpec},
		{wire.Hello{Protocol: "sodp", Version: "1.0", Server: "sodp-server-ts"}, DialectTS},
		{wire.Hello{Version: "0.1", Server: "SODP-RS"}, DialectRust},
		{wire.Hello{Version: "0.1"}, DialectRust},
		{wire.Hello{Protocol: "sodp", Version: "1.0", ServerID: "n1"}, DialectGo},
		{wire.Hello{Protocol: "sodp", Version: "1.0", Capabilities: map[string]any{"max_sessions": int64(1), "backpressure": true}}, DialectGo},
	}
	for i, c := range cases {
		if got := recognise(&c.h); got != c.want {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}

func TestKeyInMessage(t *testing.T) {
	keys := []string{"game.score", "game", "a.b"}
	cases := []struct{ msg, want string }{
		{"forbidden: game.score", "game.score"},
		{"access denied: game.score.", "game.score"},
		{"access denied: game", "game"},
		{"access denied: game.scores", ""},
		{"denied (a.b)", "a.b"},
		{"xa.b", ""},
		{"access denied", ""},
	}
	for _, c := range cases {
		got, ok := keyInMessage(c.msg, keys)
		if got != c.want || ok != (c.want != "") {
			t.Errorf("keyInMessage(%q) = %q, %v; want %q", c.msg, got, ok, c.want)
		}
	}
}

func TestSetInArgs(t *testing.T) {
	setIn := func(d Dialect, path string) (map[string]any, error) {
		return stateBody(d, StateCall{Op: OpSetIn, Key: "k", Path: path, Value: 1})
	}
	args, err := setIn(DialectSpec, "/a~1b/c")
	if err != nil || args["path"] != "/a~1b/c" {
		t.Fatalf("spec: %v %v", args, err)
	}
	args, err = setIn(DialectGo, "/a/b/0")
	if err != nil || args["path"] != "a.b.0" {
		t.Fatalf("go: %v %v", args, err)
	}
	for _, p := range []string{"/", "/a.b", "/a~1b", "/a~0b", "/a//b", "nope"} {
		if _, err := setIn(DialectGo, p); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("go %q: %v", p, err)
		}
	}
	if _, err := stateBody(DialectGo, StateCall{Op: OpPresence, Key: "k", Path: "/p", Value: 1}); !errors.Is(err, ErrNotSupported) {
		t.Errorf("presence on go: %v", err)
	}
}

func TestServerErrorMatchesSentinels(t *testing.T) {
	for code, want := range map[int]error{400: ErrBadRequest, 401: ErrUnauthorized, 403: ErrForbidden, 404: ErrNotFound,
		413: ErrTooLarge, 422: ErrInvalidValue, 429: ErrRateLimited, 500: ErrServerInternal} {
		err := fmt.Errorf("wrapped: %w", &ServerError{Code: code})
		if !errors.Is(err, want) {
			t.Errorf("code %d does not match %v", code, want)
		}
		if errors.Is(err, ErrClosed) {
			t.Errorf("code %d matches ErrClosed", code)
		}
	}
	guess := (&ServerError{Code: 403, Message: "no", Key: "k", Attribution: AttrOrder}).Error()
	if !strings.Contains(guess, "by order") || !strings.Contains(guess, "k") {
		t.Errorf("message %q does not say the attribution was a guess", guess)
	}
	if !errors.Is(&CloseError{Code: 1009}, ErrTooLarge) || errors.Is(&CloseError{Code: 1006}, ErrTooLarge) {
		t.Error("CloseError 1009 must match ErrTooLarge, others not")
	}
}

func TestEventQueueKeepsLatestState(t *testing.T) {
	q := newEventQueue(2)
	q.push(Event{Err: errors.New("e1")}, false)
	q.push(Event{Err: errors.New("e2")}, false)
	q.push(Event{Err: errors.New("e3")}, false)
	q.push(Event{State: StateReconnecting}, true)
	q.push(Event{State: StateLive}, true)
	var got []Event
	for {
		ev, ok := q.next()
		if !ok {
			break
		}
		got = append(got, ev)
	}
	if len(got) != 3 || got[2].State != StateLive || got[2].Err != nil {
		t.Fatalf("events %+v", got)
	}
	var dropped uint64
	for _, ev := range got {
		dropped += ev.Dropped
	}
	if dropped != 3 {
		t.Fatalf("dropped %d, want 3", dropped)
	}
	done := make(chan struct{})
	close(done)
	out := make(chan Event, 1)
	pump(q, done, out) // returns at once and closes the channel
	if _, ok := <-out; ok {
		t.Fatal("channel not closed")
	}
}

// What a WaitVersion gets when the key's last subscription ends.
func TestNotWatched(t *testing.T) {
	refused := &ServerError{Code: 403}
	cases := []struct {
		why     error
		closing bool
		want    error
	}{
		{ErrClosed, true, ErrClosed},
		{refused, true, ErrClosed},
		{nil, false, ErrNotCached},
		{fmt.Errorf("%w: subscription closed", ErrClosed), false, ErrNotCached},
		{context.Canceled, false, ErrNotCached},
		{ErrSlowConsumer, false, ErrSlowConsumer},
		{refused, false, refused},
	}
	for i, c := range cases {
		got := notWatched("k", c.why, c.closing)
		if !errors.Is(got, c.want) || c.want == ErrNotCached && errors.Is(got, ErrClosed) {
			t.Errorf("case %d: %v, want %v", i, got, c.want)
		}
	}
}

// A small DELTA may create ordinary depths of new objects; a large one as
// many as its size pays for.
func TestNewContainersFor(t *testing.T) {
	for _, c := range []struct{ size, want int }{{0, 32}, {60, 32}, {768, 32}, {1000, 41}, {24_000, 1000}} {
		if got := newContainersFor(c.size); got != c.want {
			t.Errorf("newContainersFor(%d) = %d, want %d", c.size, got, c.want)
		}
	}
}
